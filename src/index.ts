/** Partita's public API. */
export { createApp, App } from './app/app.ts';
export type { AppConfig, ProducerConfig, HttpConfig, MetricsConfig, ThreadMemoryConfig, GroupSettings, ConsumerGroupConfig, TopicOptions, DeadLetterOptions } from './config/schema.ts';
export type { TopicRoute, ConsumerGroupRoute } from './config/resolve.ts';
export type { KafkaConfig, KafkaTopicDeclaration } from './kafka/types.ts';
export { DEFAULTS } from './config/defaults.ts';
export { loadApp, resolveBootFile } from './app/boot.ts';
export { Consumer, type ConsumerClass } from './consumer/consumer.ts';
export { Responder, topic, type ResponderClass, type ResponderTopic, type ResponderTopicOptions, type ResponseOptions } from './consumer/responder.ts';
export type { Producer, OutgoingMessage, DeliveryReport } from './producer/producer.ts';
export { serializers, type Serializer, type SerializerFn } from './producer/serializers.ts';
export { Message, Messages, type BatchMetadata } from './messages/messages.ts';
export { deserializers, type Deserializer, type DeserializerFn, type DeserializeContext } from './messages/deserializers.ts';
export { Server, type ServerOptions, type ServerStatus, type GroupStatus, type HealthReport } from './main/server.ts';
export { startHttpServer, type HttpServer, type HttpOptions } from './http/http-server.ts';
export type { PoolHealth, PartitionStatus } from './main/status.ts';
export { Instrumentation, EVENT_NAMES, type PartitaEvents, type EventName, type Listener, type PartitionEvent, type ThreadRef, type FailureReason } from './events.ts';
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
  CommitUnverifiedError,
  UsageError,
  InvalidArgumentError,
  ConsumerDetachedError,
  ResponderMisuseError,
  RouteNotFoundError,
  BatchCorruptError,
  ParallelSplitError,
  TestReadTimeoutError,
  type SerializedError,
  type ErrorCode,
  type ConfigProblem,
} from './errors.ts';
