import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { featureFlags } from '../../lib/app';
import { synth } from './synth';

// `cdk synth` as a user runs it: offline, without AWS credentials or region. Bundles both
// functions, so this file runs one synth only.
jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../..');

describe('cdk synth -q (offline, no AWS environment)', () => {
  let result: { status: number | null; stderr: string; outdir: string };
  beforeAll(() => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-cdk-cli-'));
    const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' };
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) delete env[name];
    const run = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '-q', '-o', outdir], { cwd: ROOT, env, encoding: 'utf8' });
    result = { status: run.status, stderr: run.stderr, outdir };
  });
  afterAll(() => result && fs.rmSync(result.outdir, { recursive: true, force: true }));

  it('succeeds and says that cdk-nag ran and found nothing', () => {
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('cdk-nag: AwsSolutions and Serverless packs: 0 findings (15 acknowledged)\n');
  });

  it('does not warn about unconfigured feature flags (cdk.json sets them)', () => {
    expect(result.stderr).not.toMatch(/feature flags? (are|is) not configured/);
  });

  it('synthesizes the same template in-process (local runtime, tests) as under the cdk CLI', () => {
    const cli = JSON.parse(fs.readFileSync(path.join(result.outdir, 'StatusHooks.template.json'), 'utf8'));
    const s = synth();
    try {
      const inProcess = s.template.toJSON();
      // Asset hashes and the version-reporting resource aside, both paths apply the same flags.
      const strip = (t: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(t.Resources as Record<string, { Type: string }>).filter(([, r]) => r.Type !== 'AWS::CDK::Metadata').map(([id, r]) => [id, { ...r, Metadata: undefined }]));
      expect(strip(inProcess)).toEqual(strip(cli));
      expect(featureFlags()['@aws-cdk/aws-iam:minimizePolicies']).toBe(false);
    } finally {
      s.cleanup();
    }
  });
});
