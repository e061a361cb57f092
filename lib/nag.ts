import { Validations, type IPolicyValidationContext, type IPolicyValidationPlugin, type PolicyValidationPluginReport } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** A finding of one pack: rule and the construct paths (or logical ids) it names. */
export interface NagFinding {
  readonly pack: string;
  readonly rule: string;
  readonly resources: readonly string[];
}

/**
 * Runs a cdk-nag pack as a CDK validation plugin and remembers what it reported, so a synth can
 * say that the checks ran (CDK itself only speaks up when a plugin fails).
 */
class RecordingPlugin implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];

  constructor(
    private readonly pack: NagPack,
    private readonly record: (findings: NagFinding[]) => void,
  ) {
    this.name = pack.name;
    this.version = pack.version;
    this.ruleIds = pack.ruleIds;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const report = this.pack.validate(context);
    this.record(
      report.violations.map((v) => ({
        pack: this.name,
        rule: v.ruleName,
        resources: v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId ?? '?'),
      })),
    );
    return report;
  }
}

/** The rule-id prefixes of the packs statushooks runs. */
const PACKS = [
  { label: 'AwsSolutions', create: () => new AwsSolutionsChecks(undefined, { verbose: true }) },
  { label: 'Serverless', create: () => new ServerlessChecks(undefined, { verbose: true }) },
] as const;

/**
 * cdk-nag's AwsSolutions and Serverless packs on every synth of `app`; a finding fails the synth.
 * `summary()` is the one line `cdk synth` prints about them.
 */
export class NagChecks {
  private ran = 0;
  private readonly findings: NagFinding[] = [];

  constructor(private readonly app: IConstruct) {
    Validations.of(app).addPlugins(
      ...PACKS.map(({ create }) =>
        new RecordingPlugin(create(), (found) => {
          this.ran++;
          this.findings.push(...found);
        }),
      ),
    );
  }

  /** Acknowledged findings of these packs in the app (Validations.acknowledge, each with a reason). */
  acknowledged(): number {
    let count = 0;
    for (const construct of this.app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        const ids = Object.keys(entry.data as Record<string, string>).map((id) => id.replace(/^Annotation::/, ''));
        count += ids.filter((id) => PACKS.some((p) => id.startsWith(`${p.label}-`))).length;
      }
    }
    return count;
  }

  /**
   * `cdk-nag: AwsSolutions and Serverless packs: 0 findings (12 acknowledged)`, followed by one
   * line per finding; undefined when the packs have not run (synth failed earlier).
   */
  summary(): string | undefined {
    if (this.ran === 0) return undefined;
    const n = this.findings.length;
    const lines = [`cdk-nag: ${PACKS.map((p) => p.label).join(' and ')} packs: ${n} finding${n === 1 ? '' : 's'} (${this.acknowledged()} acknowledged)`];
    for (const f of this.findings) lines.push(`  ${f.rule} on ${f.resources.join(', ')}`);
    return lines.join('\n');
  }
}
