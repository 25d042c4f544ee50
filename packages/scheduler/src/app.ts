import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { SchedulerConfig } from './config/config';
import { Logger } from './logger';

/** A running replica. */
export interface SchedulerApp {
  app: NestExpressApplication;
  close(): Promise<void>;
}

/** Starts one replica: connects to etcd, joins the election, serves agents and the HTTP API. */
export async function startScheduler(config: SchedulerConfig, logger: Logger): Promise<SchedulerApp> {
  const httpsOptions = config.tls ? { cert: config.tls.cert, key: config.tls.key } : undefined;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: false,
    httpsOptions,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: '1mb' });
  await app.listen(config.httpListen.port, config.httpListen.host);
  logger.info({ http: `${config.httpListen.host}:${config.httpListen.port}`, prefix: config.prefix }, 'scheduler started');
  return { app, close: () => app.close() };
}
