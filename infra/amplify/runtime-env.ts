/** The settings file build.ts bakes next to the compute bundle, and how server.ts layers it. */
export const RUNTIME_ENV_FILE = 'runtime-env.json';

/** Defaults for Amplify compute < baked settings < the process environment. */
export function runtimeEnv(
  baked: Record<string, string>,
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  return { HOST: '0.0.0.0', STOREFRONT_PORT: '3000', DATA_DIR: '/tmp/clickstream', ...baked, ...set };
}
