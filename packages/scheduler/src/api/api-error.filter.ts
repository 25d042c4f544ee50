import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Response } from 'express';
import { Logger } from 'pino';
import { ApiErrorCode, SchedulerError, toSchedulerError } from '../errors';
import { ROOT_LOGGER } from '../tokens';

const STATUS_OF: Record<ApiErrorCode, number> = {
  invalid_argument: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

/** Maps every thrown error to the `{ "error": { code, message, details } }` body of docs/api.md. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly log: Logger;

  constructor(@Inject(ROOT_LOGGER) logger: Logger) {
    this.log = logger.child({ component: 'api' });
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, code, message, details } = this.describe(exception);
    if (status >= 500) this.log.error({ err: exception instanceof Error ? exception.stack : String(exception) }, message);
    if (response.headersSent) {
      response.end();
      return;
    }
    response.status(status).json({ error: { code, message, details } });
  }

  private describe(exception: unknown): { status: number; code: ApiErrorCode; message: string; details: Record<string, unknown> } {
    if (exception instanceof HttpException) {
      // Nest's own errors: unknown routes, unparsable JSON bodies.
      const status = exception.getStatus();
      const code: ApiErrorCode = status === 404 ? 'not_found' : status < 500 ? 'invalid_argument' : 'internal';
      const message = code === 'invalid_argument' ? `invalid request: ${exception.message}` : exception.message;
      return { status: code === 'invalid_argument' ? 400 : status, code, message, details: {} };
    }
    const error: SchedulerError = toSchedulerError(exception, 'request');
    return { status: STATUS_OF[error.code], code: error.code, message: error.message, details: error.details };
  }
}
