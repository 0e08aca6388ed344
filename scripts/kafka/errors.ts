/**
 * The one error type of the local-broker scripts: a code the CLI and the test
 * runner can print (`error [CODE]: …`) and a message that says what to do.
 */
export class KafkaSetupError extends Error {
  constructor(
    readonly code:
      | 'JAVA_NOT_FOUND'
      | 'JAVA_TOO_OLD'
      | 'MAVEN_NOT_FOUND'
      | 'MAVEN_FAILED'
      | 'PORT_IN_USE'
      | 'BROKER_START_FAILED'
      | 'BROKER_START_TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'KafkaSetupError';
  }
}
