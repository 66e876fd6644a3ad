// libxl's JSON domain config (libxl_domain_config_to_json / _from_json, Xen 4.17) ↔ the model:
// the config `xl save` writes into its image header and `xl restore` reads back.

export { parseLibxlJson, type LibxlParseResult } from './parse.js';
export { toLibxlJson, toLibxlObject, libxlJsonLosses, type LibxlEmitOptions } from './emit.js';
