// @ts-check
import nx from '@nx/eslint-plugin';
import { defineConfig, globalIgnores } from 'eslint/config';
// What @nx/devkit re-exports, taken from `nx` itself, which is a declared devDependency.
import { createProjectGraphAsync } from 'nx/src/devkit-exports.js';
import tseslint from 'typescript-eslint';

// `@nx/enforce-module-boundaries` only reads the project graph that Nx cached in .nx/; with no
// cache (a fresh clone, CI) it prints a warning and checks nothing, and a stale cache checks
// against old tags. So when ESLint is run directly (`npm run lint`, an editor, a hook), compute
// the graph first. Under `nx run <project>:lint` Nx has just done so.
if (!process.env.NX_TASK_TARGET_PROJECT) {
  await createProjectGraphAsync({ exitOnError: true });
}

/** The services of DESIGN.md; each `scope:<service>` may use shared code and its own. */
const services = ['gateway', 'environments', 'sessions', 'apps', 'builds'];

const depConstraints = [
  // Apps never import apps; libraries never import apps.
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  // Shared code knows no service.
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  ...services.map((service) => ({
    sourceTag: `scope:${service}`,
    onlyDependOnLibsWithTags: ['scope:shared', `scope:${service}`],
  })),
];

/** @param {string[]} allow imports (regular expressions here) exempt from the rule */
const moduleBoundaries = (allow) => [
  'error',
  { allow, enforceBuildableLibDependency: false, depConstraints },
];

/** Test files of every project, which may use the shared test harness. */
const testFiles = ['**/*.spec.ts', '**/*.integration-spec.ts', '**/*.e2e-spec.ts'];

export default defineConfig(
  globalIgnores(['**/dist/', '**/node_modules/', '**/coverage/', '.nx/']),

  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },

  {
    // Test code reads arbitrary JSON bodies and messages back; `any` there is a convenience that
    // never reaches a running service. Production code keeps the rule as an error.
    files: [...testFiles, 'e2e/**/*.ts', 'tools/testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },

  {
    files: ['**/*.ts', '**/*.js'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries([]),
    },
  },

  {
    // tools/testing is the shared test harness, not an Nx project: tests (and only tests) reach it
    // by a relative path. Every other boundary still applies to them.
    files: testFiles,
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries(['^(\\.\\./)+tools/testing/']),
    },
  },
);
