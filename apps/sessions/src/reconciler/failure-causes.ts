const GB = 1024 ** 3;

/** How programs and git say a filesystem is full (errno ENOSPC, EDQUOT). */
const DISK_FULL = /no space left on device|ENOSPC|disk quota exceeded|EDQUOT/i;

/**
 * The root cause of a failed session in words its owner can act on, put before what the runtime
 * reported (which stays, for the details). A full disk is the one recognised here: the program's
 * own error (a write that failed with ENOSPC, git's "No space left on device") or the last
 * measurement of /work at or over its size. Anything else is the runtime's message as it is.
 */
export function explainFailure(message: string, disk: { diskUsedBytes?: number | null; diskGb?: number }): string {
  const limit = (disk.diskGb ?? 0) * GB;
  const measuredFull = disk.diskUsedBytes !== null && disk.diskUsedBytes !== undefined && limit > 0 && disk.diskUsedBytes >= limit;
  if (!DISK_FULL.test(message) && !measuredFull) return message;
  const usage =
    disk.diskUsedBytes !== null && disk.diskUsedBytes !== undefined && limit > 0
      ? ` (${(disk.diskUsedBytes / GB).toFixed(2)} GB of ${disk.diskGb} GB used)`
      : disk.diskGb
        ? ` (it has ${disk.diskGb} GB)`
        : '';
  return (
    `disk full: the session's /work has no room left${usage}; its files are kept: resume it and delete some, or resume it with a class ` +
    `that allows more (PATCH {"state":"running","resourceClassId":"…"}), or start it with a larger diskStorageGb. The runtime reported: ${message}`
  );
}
