import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { SchedulerConfig } from '../config/config';
import { UnauthorizedError } from '../errors';
import { bearerToken, tokenMatches } from '../gateway/token';
import { SCHEDULER_CONFIG } from '../tokens';

const WRITE_METHODS = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

/** Requires `Authorization: Bearer TOKEN` on write requests when an API token is configured. */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(@Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (this.config.apiToken === '' || !WRITE_METHODS.has(request.method)) return true;
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) throw new UnauthorizedError('this write needs "Authorization: Bearer TOKEN" with the scheduler\'s API token');
    if (!tokenMatches(token, this.config.apiToken)) throw new UnauthorizedError('API token rejected');
    return true;
  }
}
