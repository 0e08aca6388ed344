/** Partita's public API. */
export { createApp, App } from './app/app.ts';
export type { AppConfig, ProducerConfig, KafkaTopicDeclaration, HttpConfig, MetricsConfig, KafkaConfig, GroupSettings, ConsumerGroupConfig, TopicOptions, TopicRoute, ConsumerGroupRoute } from './app/config.ts';
export { loadApp, resolveBootFile } from './app/boot.ts';
export { Consumer, type ConsumerClass } from './consumer.ts';
export { Responder, topic, type ResponderClass, type ResponderTopic, type ResponderTopicOptions, type ResponseOptions } from './responder.ts';
export type { Producer, OutgoingMessage, DeliveryReport } from './producer/producer.ts';
export { serializers, type Serializer, type SerializerFn } from './producer/serializers.ts';
export { Message, Messages, type BatchMetadata } from './messages/messages.ts';
export { deserializers, type Deserializer, type DeserializerFn, type DeserializeContext } from './messages/deserializers.ts';
export { Server, type ServerOptions, type ServerStatus, type GroupStatus, type HealthReport } from './runtime/server.ts';
export { startHttpServer, type HttpServer, type HttpOptions } from './http/http-server.ts';
export type { PoolHealth } from './runtime/pool.ts';
export type { PartitionStatus } from './runtime/scheduler.ts';
export {
  ErrorCodes,
  PartitaError,
  ConfigError,
  BootFileError,
  UnknownConsumerGroupError,
  NoActiveRoutesError,
  PayloadError,
  ConsumerError,
  WorkerError,
  BrokerUnreachableError,
  BrokerAuthError,
  BrokerTlsError,
  brokerConnectError,
  SubscribeError,
  JobTimeoutError,
  DeadLetterError,
  ShutdownTimeoutError,
  FetcherCrashedError,
  HttpListenError,
  ProduceError,
  ResponderError,
  ResponderMissingError,
  TopicAdminError,
  InstallError,
  type ErrorCode,
  type ConfigProblem,
} from './errors.ts';
