// Serverless plugin (in-repo): gives every schedule target — each EventBridge Scheduler schedule (the
// plans) and each scheduled EventBridge rule (the checker) — a retry policy and a dead-letter queue,
// which osls cannot declare on `schedule` events. Configured in serverless.yml:
//   custom.scheduleDlq: { arn: <SQS queue ARN>, maximumRetryAttempts: <n>, maximumEventAgeInSeconds: <s> }
// These cover deliveries EventBridge could not make (throttling, a missing function or permission);
// a firing the function itself failed is covered by the function's async on-failure destination.
'use strict';

class ScheduleDlq {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:package:compileEvents': () => this.apply() };
  }

  apply() {
    const config = (this.serverless.service.custom || {}).scheduleDlq;
    if (!config || !config.arn) throw new Error('custom.scheduleDlq.arn is required (the SQS queue that receives failed schedule deliveries)');
    const retryPolicy = {
      MaximumRetryAttempts: Number(config.maximumRetryAttempts),
      MaximumEventAgeInSeconds: Number(config.maximumEventAgeInSeconds),
    };
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    for (const resource of Object.values(resources)) {
      const props = resource.Properties || {};
      if (resource.Type === 'AWS::Scheduler::Schedule' && props.Target) {
        props.Target.RetryPolicy = retryPolicy;
        props.Target.DeadLetterConfig = { Arn: config.arn };
      } else if (resource.Type === 'AWS::Events::Rule' && props.ScheduleExpression) {
        for (const target of props.Targets || []) {
          target.RetryPolicy = retryPolicy;
          target.DeadLetterConfig = { Arn: config.arn };
        }
      }
    }
  }
}

module.exports = ScheduleDlq;
