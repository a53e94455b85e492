// Errors that reach an HTTP client, with the status and the OpenAI error type
// vLLM uses for them (vllm/entrypoints/.../error_response.py).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, param: string | null = null) => new ApiError(400, 'BadRequestError', message, param);
export const notFound = (message: string) => new ApiError(404, 'NotFoundError', message);
export const internalError = (message: string) => new ApiError(500, 'InternalServerError', message);

/** vLLM's error body: `{"error": {"message", "type", "param", "code"}}`. */
export function errorBody(err: ApiError): { error: { message: string; type: string; param: string | null; code: number } } {
  return { error: { message: err.message, type: err.type, param: err.param, code: err.status } };
}
