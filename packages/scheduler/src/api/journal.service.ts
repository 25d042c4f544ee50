import { Readable } from 'node:stream';
import { machineIdMatches } from '@berth/unitfile';
import { Inject, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { Logger } from 'pino';
import { EtcdUnavailableError, NotFoundError } from '../errors';
import { GatewayService } from '../gateway/gateway.service';
import { EtcdStore } from '../store/etcd-store.service';
import { ConnectionRecord } from '../store/records';
import { ROOT_LOGGER } from '../tokens';

/** Query parameter that marks a request relayed from another replica, so it is never relayed twice. */
export const RELAYED_PARAM = 'relayed';

/** Query parameter that picks one machine of a unit placed on several (a Global unit). */
export const MACHINE_PARAM = 'machine';

/** Response header naming the machine whose journal the response carries. */
export const MACHINE_HEADER = 'x-berth-machine-id';

/** Parameters of one journal request. */
export interface JournalQuery {
  unit: string;
  lines: number;
  follow: boolean;
  relayed: boolean;
  /** Full machine id or an 8-character prefix; undefined reads the unit's first machine. */
  machine?: string;
}

/**
 * Serves `GET /v1/units/NAME/journal` by requesting log lines from the agent on the unit's machine. When
 * that agent's stream is on another replica, the HTTP request is relayed to that replica.
 */
@Injectable()
export class JournalService {
  private readonly log: Logger;

  constructor(
    private readonly store: EtcdStore,
    private readonly gateway: GatewayService,
    @Inject(ROOT_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'journal' });
  }

  /** Streams the journal into `response`; throws NotFoundError or EtcdUnavailableError before writing anything. */
  async stream(query: JournalQuery, response: Response): Promise<void> {
    const machineId = this.machineOf(query.unit, query.machine);
    const cancel = this.gateway.requestLogs(machineId, query.unit, query.lines, query.follow, {
      onLines: (lines) => {
        if (!response.headersSent) this.startText(response, machineId);
        response.write(lines.map((l) => `${l}\n`).join(''));
      },
      onEnd: (error) => {
        if (!response.headersSent && error) {
          response.status(502).json({ error: { code: 'unavailable', message: `agent on ${machineId}: ${error}`, details: { machineId } } });
          return;
        }
        if (!response.headersSent) this.startText(response, machineId);
        if (error) response.write(`-- journal ended: ${error}\n`);
        response.end();
      },
    });
    if (cancel !== undefined) {
      response.on('close', cancel);
      return;
    }
    await this.relay(query, machineId, response);
  }

  private startText(response: Response, machineId: string): void {
    response.status(200).setHeader('content-type', 'text/plain; charset=utf-8');
    response.setHeader(MACHINE_HEADER, machineId);
    response.flushHeaders();
  }

  /** Picks the machine to read from: the requested one (full id or prefix), else the first. */
  private machineOf(unit: string, requested: string | undefined): string {
    const machines = this.store.mirror.assignmentsOf(unit).map((a) => a.record.machineId);
    if (machines.length === 0) throw new NotFoundError(`unit "${unit}" is not placed on any machine, so it has no journal to read`);
    if (requested === undefined) return machines[0];

    const matches = machines.filter((machineId) => machineIdMatches(requested, machineId));
    if (matches.length === 1) return matches[0];
    throw new NotFoundError(`unit "${unit}" does not run on machine "${requested}"; it runs on ${machines.join(', ')}`, { machineIds: machines });
  }

  private async relay(query: JournalQuery, machineId: string, response: Response): Promise<void> {
    const connection = (await this.store.get<ConnectionRecord>(this.store.keys.connection(machineId)))?.value;
    if (connection === undefined || query.relayed) {
      throw new EtcdUnavailableError(`the agent of machine ${machineId} is not connected to any scheduler replica; try again when it reconnects`, { machineId });
    }
    const url = new URL(`/v1/units/${encodeURIComponent(query.unit)}/journal`, connection.httpUrl);
    url.searchParams.set('lines', String(query.lines));
    url.searchParams.set('follow', String(query.follow));
    url.searchParams.set(RELAYED_PARAM, '1');
    url.searchParams.set(MACHINE_PARAM, machineId);
    const abort = new AbortController();
    response.on('close', () => abort.abort());
    this.log.debug({ unit: query.unit, machine: machineId, replica: connection.replicaId }, 'relaying journal request');
    // NOTE: with --tls-cert, replicas relay over HTTPS, so each replica must trust the others'
    // certificate (system store or NODE_EXTRA_CA_CERTS).
    const upstream = await fetch(url, { signal: abort.signal }).catch((error: Error) => {
      throw new EtcdUnavailableError(`cannot reach scheduler ${connection.replicaId} at ${connection.httpUrl}, which serves machine ${machineId}: ${error.message}`);
    });
    response.status(upstream.status).setHeader('content-type', upstream.headers.get('content-type') ?? 'text/plain; charset=utf-8');
    response.setHeader(MACHINE_HEADER, upstream.headers.get(MACHINE_HEADER) ?? machineId);
    if (upstream.body === null) {
      response.end();
      return;
    }
    Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream).on('error', () => response.end()).pipe(response);
  }
}
