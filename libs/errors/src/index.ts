export { ERROR_CODES, isErrorCode, type ErrorCode } from './codes';
export { PlatformError, errorBody, type ErrorBody, type PlatformErrorOptions } from './platform-error';
