export { AUTH_DEFAULTS } from './defaults';
export { SCOPES, isScope, grants, type Scope } from './scopes';
export {
  TOKEN_PREFIX, generateToken, hashToken, formatTokenEntry, parseTokenEntries, parseTokenFile, loadTokenEntries, TokenStore,
  type TokenEntry, type Principal,
} from './tokens';
export {
  AuthGuard, RequiresScope, OperationalEndpoint, PublicAsset, credentialsOf, REQUIRED_SCOPE, OPERATIONAL_ROUTE, PUBLIC_ROUTE,
  type AuthPolicy, type Credentials, type RouteScope,
} from './guard';
