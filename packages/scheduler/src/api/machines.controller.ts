import { Body, Controller, Get, Param, Patch, UseGuards } from '@nestjs/common';
import { InvalidArgumentError } from '../errors';
import { ApiTokenGuard } from './api-token.guard';
import { MachinesService, MetadataPatch } from './machines.service';
import { MachineView } from './views';

/** `/v1/machines` of docs/api.md. */
@Controller('v1/machines')
@UseGuards(ApiTokenGuard)
export class MachinesController {
  constructor(private readonly machines: MachinesService) {}

  @Get()
  async list(): Promise<{ machines: MachineView[] }> {
    return { machines: await this.machines.list() };
  }

  @Patch(':id/metadata')
  patchMetadata(@Param('id') id: string, @Body() body: MetadataPatch): Promise<MachineView> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidArgumentError('the request body must be a JSON object sent with "Content-Type: application/json"');
    }
    return this.machines.patchMetadata(id, body);
  }
}
