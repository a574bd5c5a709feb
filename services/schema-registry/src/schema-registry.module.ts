import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { SchemaRegistryStore, type KafkaRegistryLogOptions, type RegistryLog } from '@streamloop/registry';
import { SchemaRegistryController } from './registry.controller';
import { SCHEMA_REGISTRY_OPTIONS, SCHEMA_REGISTRY_STORE } from './tokens';

/** Where the registry keeps its state: a compacted Kafka topic (the default), or a given log. */
export type SchemaRegistryModuleOptions = KafkaRegistryLogOptions | { log: RegistryLog };

@Module({})
export class SchemaRegistryModule implements OnApplicationShutdown {
  constructor(@Inject(SCHEMA_REGISTRY_STORE) private readonly store: SchemaRegistryStore) {}

  static register(options: SchemaRegistryModuleOptions): DynamicModule {
    return {
      module: SchemaRegistryModule,
      controllers: [SchemaRegistryController],
      providers: [
        { provide: SCHEMA_REGISTRY_OPTIONS, useValue: options },
        {
          provide: SCHEMA_REGISTRY_STORE,
          inject: [SCHEMA_REGISTRY_OPTIONS],
          // The store replays the topic before the app listens: no request sees a half-loaded registry.
          useFactory: async (opts: SchemaRegistryModuleOptions) => {
            const store = new SchemaRegistryStore(opts);
            await store.start();
            return store;
          },
        },
      ],
      exports: [SCHEMA_REGISTRY_STORE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
