import { Injectable, Logger } from '@nestjs/common';
import { BuildsErrorCode, buildsRpc, CommonErrorCode, DomainError, environmentsRpc } from '@launchpad/contracts';
import { RpcClient } from '@launchpad/messaging';
import type { SessionRunSpec } from '../sessions/session.entity.js';

export type ImageDecision =
  /** Start now with this image; `note` tells the person why it is not the one they chose. */
  | { kind: 'go'; image: string; note: string | null }
  | { kind: 'wait'; message: string };

/** The sessions service asks as itself, not as a user: it reads only the platform's default environment. */
const SERVICE_PRINCIPAL = { userId: 'service:sessions', admin: true };

/**
 * Whether a session's image can run yet. A launcher made from code is pinned to one commit's
 * image: while its CI build is pending or running the session waits; if the build failed or was
 * canceled the session starts on the default environment's image instead, and says so.
 */
@Injectable()
export class ImageBuildGate {
  private readonly logger = new Logger(ImageBuildGate.name);

  constructor(private readonly rpc: RpcClient) {}

  async decide(image: string, spec: SessionRunSpec): Promise<ImageDecision> {
    const pinned = spec.build;
    if (!pinned) return { kind: 'go', image, note: null };
    const short = pinned.sha.slice(0, 8);
    let build;
    try {
      build = await this.rpc.call(buildsRpc.imageForCommit, { projectId: pinned.projectId, sha: pinned.sha }, 3000);
    } catch (error) {
      if (error instanceof DomainError && error.code === BuildsErrorCode.BUILD_NOT_FOUND) {
        return { kind: 'wait', message: `waiting for image build: GitLab has not reported a pipeline for commit ${short} yet` };
      }
      if (error instanceof DomainError && error.code === CommonErrorCode.SERVICE_UNAVAILABLE) {
        return { kind: 'wait', message: `waiting for image build: the builds service is not answering, so the image of commit ${short} cannot be checked` };
      }
      throw error;
    }
    switch (build.status) {
      case 'succeeded':
        return { kind: 'go', image: build.image, note: null };
      case 'pending':
      case 'running':
        return { kind: 'wait', message: `waiting for image build of commit ${short} (${build.status})${build.pipelineUrl ? `: ${build.pipelineUrl}` : ''}` };
      case 'failed':
      case 'canceled': {
        let fallback: string;
        try {
          fallback = await this.defaultImage();
        } catch (error) {
          return { kind: 'wait', message: `the image build of commit ${short} ${build.status}, and the default environment to fall back to cannot be read: ${(error as Error).message}` };
        }
        this.logger.warn({ projectId: pinned.projectId, sha: pinned.sha }, `image build of ${short} ${build.status}; falling back to ${fallback}`);
        return {
          kind: 'go',
          image: fallback,
          note: `the image build of commit ${short} ${build.status}${build.failureReason ? ` (${build.failureReason})` : ''}, so this session runs the default environment's image ${fallback} instead`,
        };
      }
    }
  }

  private async defaultImage(): Promise<string> {
    const { items } = await this.rpc.call(environmentsRpc.listEnvironments, { caller: SERVICE_PRINCIPAL, query: {} });
    const fallback = items.find((e) => e.isDefault);
    if (!fallback) throw new Error('there is no default environment (an administrator must mark one)');
    return fallback.image;
  }
}
