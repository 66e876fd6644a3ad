// Where a tsxend daemon answers: a Unix socket path or an http(s) URL (the CLI's --connect, and
// a migration's destination).

export type Endpoint = { kind: 'unix'; path: string } | { kind: 'http' | 'https'; url: URL };

export function parseEndpoint(spec: string): Endpoint {
  if (spec.startsWith('unix:')) return { kind: 'unix', path: spec.slice(5) };
  if (spec.startsWith('/')) return { kind: 'unix', path: spec };
  const url = new URL(spec);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`--connect ${spec}: expected unix:PATH or https://HOST:PORT`);
  return { kind: url.protocol === 'https:' ? 'https' : 'http', url };
}

export function describeEndpoint(e: Endpoint): string {
  return e.kind === 'unix' ? `unix:${e.path}` : e.url.origin;
}
