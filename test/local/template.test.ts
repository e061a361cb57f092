import { type CfnTemplate, TemplateResolver, UnsupportedTemplateError, dependencyOrder, referencedLogicalIds } from '../../local/template';

const template: CfnTemplate = {
  Parameters: { Stage: { Type: 'String', Default: 'dev' }, NoDefault: { Type: 'String' } },
  Mappings: { Sizes: { dev: { memory: 128 } } },
  Resources: {
    Queue: { Type: 'AWS::SQS::Queue', Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 5 } } },
    Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
    Other: { Type: 'AWS::SQS::Queue', Properties: {}, DependsOn: 'Queue' },
    Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
  },
};

function resolver(): TemplateResolver {
  const r = new TemplateResolver(template, { region: 'eu-west-1', accountId: '000000000000', stackName: 'StatusHooks' });
  r.define('Queue', { ref: 'http://127.0.0.1:1/000000000000/Queue', attributes: { Arn: 'arn:aws:sqs:eu-west-1:000000000000:Queue', QueueName: 'Queue' } });
  r.define('Fn', { ref: 'fn-name', attributes: { Arn: 'arn:aws:lambda:eu-west-1:000000000000:function:fn-name' } });
  return r;
}

describe('TemplateResolver', () => {
  test('resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::FindInMap and pseudo parameters', () => {
    const r = resolver();
    expect(
      r.resolve(
        {
          url: { Ref: 'Queue' },
          arn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
          dotted: { 'Fn::GetAtt': 'Fn.Arn' },
          joined: { 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, { Ref: 'Stage' }, 3]] },
          sub: { 'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Fn}/${Queue.QueueName}/${!Literal}' },
          subVars: { 'Fn::Sub': ['${A}-${B}', { A: 'a', B: { Ref: 'Fn' } }] },
          selected: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] },
          mapped: { 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'memory'] },
          dropped: { Ref: 'AWS::NoValue' },
          list: ['x', { Ref: 'AWS::NoValue' }, 'y'],
        },
        'test',
      ),
    ).toEqual({
      url: 'http://127.0.0.1:1/000000000000/Queue',
      arn: 'arn:aws:sqs:eu-west-1:000000000000:Queue',
      dotted: 'arn:aws:lambda:eu-west-1:000000000000:function:fn-name',
      joined: 'StatusHooks-dev-3',
      sub: 'arn:aws:x:eu-west-1:000000000000:fn-name/Queue/${Literal}',
      subVars: 'a-fn-name',
      selected: 'b',
      mapped: 128,
      list: ['x', 'y'],
    });
  });

  test.each<[unknown, RegExp]>([
    [{ 'Fn::If': ['Cond', 'a', 'b'] }, /Fn::If is not supported/],
    [{ 'Fn::ImportValue': 'Exported' }, /Fn::ImportValue is not supported/],
    [{ 'Fn::GetAtt': ['Queue', 'RedrivePolicy'] }, /Queue\.RedrivePolicy \(AWS::SQS::Queue\) is not supported/],
    [{ Ref: 'Dlq' }, /Ref to AWS::SQS::Queue "Dlq"/],
    [{ Ref: 'Nope' }, /unknown name "Nope"/],
    [{ Ref: 'NoDefault' }, /parameter NoDefault has no default/],
    [{ Ref: 'AWS::NotificationARNs' }, /pseudo parameter AWS::NotificationARNs/],
  ])('refuses %j by name, saying where', (value, message) => {
    expect(() => resolver().resolve({ Prop: value }, 'Res.Properties')).toThrow(UnsupportedTemplateError);
    expect(() => resolver().resolve({ Prop: value }, 'Res.Properties')).toThrow(message);
  });
});

test('dependencyOrder puts a dead-letter queue before the queue that redrives to it, and honours DependsOn', () => {
  expect(dependencyOrder(template, ['Other', 'Queue', 'Dlq'])).toEqual(['Dlq', 'Queue', 'Other']);
  expect([...referencedLogicalIds(template.Resources.Queue!.Properties)]).toEqual(['Dlq']);
});
