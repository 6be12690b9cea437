export const CATALOGUE_OPTIONS = Symbol('CATALOGUE_OPTIONS');

export interface CatalogueOptions {
  /** The service that keeps the copy: it names the durable consumers `<service>-launchers`, `-projects`, `-environments`. */
  service: string;
  /**
   * Remember deleted launchers (table `catalogue_deleted_launchers`, migration
   * CreateLauncherTombstones1764000000200, which the service must run): a deleted launcher is
   * never brought back by a late copy, and a use case racing the deletion can tell (isLauncherDeleted).
   */
  tombstones?: boolean;
}
