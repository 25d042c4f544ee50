import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Put, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { InvalidArgumentError } from '../errors';
import { ApiTokenGuard } from './api-token.guard';
import { JournalService, MACHINE_PARAM, RELAYED_PARAM } from './journal.service';
import { PutUnitBody, UnitsService } from './units.service';
import { UnitDetail, UnitSummary } from './views';

const DEFAULT_JOURNAL_LINES = 10;
const MAX_JOURNAL_LINES = 100_000;

/** `/v1/units` and `/v1/state` of docs/api.md. */
@Controller('v1')
@UseGuards(ApiTokenGuard)
export class UnitsController {
  constructor(
    private readonly units: UnitsService,
    private readonly journal: JournalService,
  ) {}

  @Get('units')
  async list(): Promise<{ units: UnitSummary[] }> {
    return { units: await this.units.list() };
  }

  @Get('units/:name')
  get(@Param('name') name: string): Promise<UnitDetail> {
    return this.units.get(name);
  }

  @Put('units/:name')
  async put(@Param('name') name: string, @Body() body: PutUnitBody, @Res({ passthrough: true }) response: Response): Promise<UnitDetail> {
    const result = await this.units.put(name, objectBody(body));
    response.status(result.created ? 201 : 200);
    return result.unit;
  }

  @Patch('units/:name')
  patch(@Param('name') name: string, @Body() body: { desiredState?: unknown }): Promise<UnitDetail> {
    return this.units.setDesiredState(name, objectBody(body).desiredState);
  }

  @Delete('units/:name')
  @HttpCode(204)
  async destroy(@Param('name') name: string): Promise<void> {
    await this.units.destroy(name);
  }

  @Get('units/:name/journal')
  async journalOf(
    @Param('name') name: string,
    @Query('lines') lines: string | undefined,
    @Query('follow') follow: string | undefined,
    @Query(RELAYED_PARAM) relayed: string | undefined,
    @Query(MACHINE_PARAM) machine: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    await this.units.get(name);
    const count = lines === undefined ? DEFAULT_JOURNAL_LINES : Number(lines);
    if (!Number.isInteger(count) || count < 0 || count > MAX_JOURNAL_LINES) {
      throw new InvalidArgumentError(`"lines" must be an integer from 0 to ${MAX_JOURNAL_LINES}, got "${lines}"`);
    }
    await this.journal.stream({ unit: name, lines: count, follow: follow === 'true' || follow === '1', relayed: relayed === '1', machine: machine || undefined }, response);
  }

  @Get('state')
  async states(@Query('unit') unit: string | undefined, @Query('machine') machine: string | undefined): Promise<{ states: unknown[] }> {
    return { states: await this.units.states(unit || undefined, machine || undefined) };
  }
}

function objectBody<T extends object>(body: T | undefined): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidArgumentError('the request body must be a JSON object sent with "Content-Type: application/json"');
  }
  return body;
}
