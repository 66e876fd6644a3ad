// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**', 'test/fixtures/**/*.c', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
    },
  },
  // The layers point one way: daemon/cli → lifecycle → devices → xenstore; hypervisor beside devices;
  // config is pure. A lower layer importing a higher one is an error, not a style question.
  // The simulated world (src/sim) is one layer of its own, beside lifecycle: it may use xenstore,
  // devices, hypervisor and lifecycle's contracts (world, console, errors, api, wait), and only
  // src/lifecycle/environment.ts may reach it, through src/sim/index.ts (the World seam). No other
  // module can fall back to a stand-in.
  ...[
    ['src/config/**', '(xenstore|devices|hypervisor|lifecycle|sim|daemon|cli|util)/'],
    ['src/xenstore/**', '(config|devices|hypervisor|lifecycle|sim|daemon|cli)/'],
    ['src/hypervisor/**', '(devices|lifecycle|sim|daemon|cli)/'],
    ['src/devices/**', '(hypervisor|lifecycle|sim|daemon|cli)/'],
    ['src/sim/**', '(daemon|cli)/|lifecycle/(?!(world|console|errors|api|wait)\\.js$)'],
    ['src/lifecycle/**', '(sim|daemon|cli)/'],
    ['src/lifecycle/environment.ts', '(daemon|cli)/|sim/(?!index\\.js$)'],
    ['src/daemon/**', '(sim|cli)/'],
    ['src/cli/**', 'sim/'],
  ].map(([files, banned]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: `^(\\.\\./)+(${banned})`, message: 'imports go one way: daemon → lifecycle → devices → xenstore; config depends on nothing; only lifecycle/environment.ts reaches the simulated world (src/sim/index.ts)' }] },
      ],
    },
  })),
  {
    // Plain JavaScript (bin, bench, scripts) is linted without type information.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: null },
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', performance: 'readonly' },
    },
  },
  {
    // The web console runs in a browser.
    files: ['web/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(['window', 'document', 'location', 'sessionStorage', 'fetch', 'WebSocket', 'URLSearchParams', 'TextEncoder', 'btoa', 'setTimeout', 'clearTimeout', 'console'].map((g) => [g, 'readonly'])),
    },
  },
);
