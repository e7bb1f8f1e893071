// Reads services/Dockerfile with dockerfile-ast (a maintained parser) and
// answers what the image will look like: stages, effective USER/ENTRYPOINT/CMD,
// where COPY puts a local path and with which owner, and what .dockerignore keeps out.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Copy, DockerfileParser, Env, From, type Instruction, JSONInstruction, ModifiableInstruction } from 'dockerfile-ast';
import { repoRoot } from './tools';

/** Where the Tiltfile's live_update sync() steps write, per service (docs/cluster-layout.md). */
export function liveUpdateSyncs(service: string): { local: string; remote: string }[] {
  return [
    { local: `services/${service}/src`, remote: `/app/services/${service}/src` },
    { local: 'services/service-runtime/src', remote: '/app/services/service-runtime/src' },
  ];
}

export interface Stage {
  name: string | undefined;
  /** The FROM image or the name of the parent stage. */
  image: string;
  parent: Stage | undefined;
  instructions: Instruction[];
}

export function parseStages(content: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(content).getInstructions()) {
    if (instruction instanceof From) {
      const image = instruction.getImage() ?? '';
      const parent = stages.find((stage) => stage.name === image);
      stages.push({ name: instruction.getBuildStage() ?? undefined, image, parent, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

export function readStages(file = 'services/Dockerfile'): Stage[] {
  return parseStages(readFileSync(path.join(repoRoot, file), 'utf8'));
}

/** The stage and its ancestors, oldest first. */
function lineage(stage: Stage): Stage[] {
  return stage.parent ? [...lineage(stage.parent), stage] : [stage];
}

/** The external image a stage finally builds on. */
export function baseImage(stage: Stage): string {
  return lineage(stage)[0]?.image ?? '';
}

/** Instructions in effect for a stage (its ancestors' first), each with the WORKDIR it runs in. */
function effectiveInstructions(stage: Stage, args: Record<string, string> = {}): { instruction: Instruction; workdir: string }[] {
  let workdir = '/';
  return lineage(stage).flatMap((own) =>
    own.instructions.map((instruction) => {
      if (instruction.getKeyword() === 'WORKDIR') workdir = path.posix.resolve(workdir, substitute(argumentValues(instruction).join(' '), args));
      return { instruction, workdir };
    }),
  );
}

function argumentValues(instruction: Instruction): string[] {
  return instruction.getArguments().map((argument) => argument.getValue());
}

/** The working directory the stage's process starts in. */
export function effectiveWorkdir(stage: Stage, args: Record<string, string>): string {
  return effectiveInstructions(stage, args).at(-1)?.workdir ?? '/';
}

/** ${NAME} / $NAME replaced by the given build args. */
export function substitute(text: string, args: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => args[braced ?? bare ?? ''] ?? whole);
}

function last(stage: Stage, keyword: string): Instruction | undefined {
  return effectiveInstructions(stage)
    .filter(({ instruction }) => instruction.getKeyword() === keyword)
    .at(-1)?.instruction;
}

export function findStage(stages: Stage[], name: string): Stage | undefined {
  return stages.find((stage) => stage.name === name);
}

/** The user the stage's process runs as ("root" when no USER is in effect). */
export function effectiveUser(stage: Stage): string {
  const user = last(stage, 'USER');
  return user ? argumentValues(user).join(' ') : 'root';
}

export function isRootUser(user: string): boolean {
  const name = user.split(':')[0];
  return name === 'root' || name === '0' || name === '';
}

/** ENTRYPOINT or CMD in exec (JSON) form; undefined if absent or in shell form. */
export function execForm(stage: Stage, keyword: 'ENTRYPOINT' | 'CMD'): string[] | undefined {
  const instruction = last(stage, keyword);
  if (!(instruction instanceof JSONInstruction)) return undefined;
  const strings = instruction.getJSONStrings().map((s) => s.getJSONValue());
  return strings.length > 0 ? strings : undefined;
}

export function effectiveEnv(stage: Stage, name: string): string | undefined {
  const values = effectiveInstructions(stage).flatMap(({ instruction }) =>
    instruction instanceof Env ? instruction.getProperties().filter((p) => p.getName() === name).map((p) => p.getValue() ?? '') : [],
  );
  return values.at(-1);
}

/** Does some RUN in effect install this package with apt-get/apt/apk/microdnf/dnf/yum? */
export function installsPackage(stage: Stage, pkg: string): boolean {
  return effectiveInstructions(stage).some(({ instruction }) => {
    if (instruction.getKeyword() !== 'RUN') return false;
    const words = argumentValues(instruction);
    const verb = words.findIndex((word) => word === 'install' || word === 'add');
    return verb >= 0 && words.slice(verb + 1).includes(pkg);
  });
}

/** Base images whose distribution always ships tar (Debian/Ubuntu: essential package; Alpine: busybox). */
export function baseImageHasTar(image: string): boolean {
  const [name = '', tag = ''] = image.split('@')[0]?.split(':') ?? [];
  const repo = name.split('/').at(-1) ?? '';
  if (['debian', 'ubuntu', 'alpine', 'buildpack-deps'].includes(repo)) return true;
  return ['node', 'python', 'golang'].includes(repo) && /(bookworm|bullseye|trixie|alpine)/.test(tag);
}

/** The owner part of a --chown value or a `chown` argument. */
function ownerOf(spec: string): string {
  return spec.split(':')[0] ?? '';
}

function under(dir: string, target: string): boolean {
  return target === dir || target.startsWith(`${dir}/`);
}

/**
 * Everything in the stage and its ancestors that leaves a file or folder at
 * or under `dir` owned by a non-root user: COPY/ADD --chown to one, a RUN
 * chown to one, a WORKDIR created while a non-root USER is in effect
 * (BuildKit creates it owned by that user), any RUN executed as such a user
 * (whatever it creates is theirs). Empty = everything there belongs to root.
 */
export function nonRootOwnedUnder(stage: Stage, dir: string, args: Record<string, string> = {}): string[] {
  const problems: string[] = [];
  let user = 'root';
  for (const { instruction, workdir } of effectiveInstructions(stage, args)) {
    const keyword = instruction.getKeyword();
    const values = argumentValues(instruction).map((value) => substitute(value, args));
    const text = `${keyword} ${values.join(' ')}`;
    if (keyword === 'USER') user = values.join(' ');
    else if (keyword === 'WORKDIR' && under(dir, workdir) && !isRootUser(user)) problems.push(`${text} (created as ${user})`);
    else if (keyword === 'COPY' || keyword === 'ADD') {
      const destination = path.posix.resolve(workdir, values.at(-1) ?? '');
      const chown = flag(instruction, 'chown');
      if (under(dir, destination) && chown !== undefined && !isRootUser(ownerOf(chown))) problems.push(text);
    } else if (keyword === 'RUN') {
      const touchesDir = values.some((value) => under(dir, path.posix.resolve(workdir, value))) || under(dir, workdir);
      const chownIndex = values.indexOf('chown');
      const owner = chownIndex >= 0 ? values.slice(chownIndex + 1).find((value) => !value.startsWith('-')) : undefined;
      if (touchesDir && owner !== undefined && !isRootUser(ownerOf(owner))) problems.push(text);
      else if (touchesDir && !isRootUser(user)) problems.push(`${text} (run as ${user})`);
    }
  }
  return problems;
}

/** RUN instructions in effect that install npm packages with `--include-workspace-root` (the root's devDependencies). */
export function installsWorkspaceRoot(stage: Stage): string[] {
  return effectiveInstructions(stage)
    .map(({ instruction }) => instruction)
    .filter((instruction) => instruction.getKeyword() === 'RUN')
    .map((instruction) => argumentValues(instruction))
    .filter((words) => words.includes('npm') && words.some((word) => word === 'ci' || word === 'install') && words.includes('--include-workspace-root'))
    .map((words) => `RUN ${words.join(' ')}`);
}

export interface CopyTarget {
  remote: string;
  /** The --chown value, if any. */
  chown: string | undefined;
  fromStage: string | undefined;
}

function flag(instruction: Instruction, name: string): string | undefined {
  if (!(instruction instanceof ModifiableInstruction)) return undefined;
  return instruction.getFlags().find((f) => f.getName() === name)?.getValue() ?? undefined;
}

/** Local paths (relative to the build context) that the COPY/ADD instructions of all stages read, args substituted. */
export function contextSources(stages: Stage[], args: Record<string, string>): string[] {
  return stages.flatMap((stage) =>
    stage.instructions.flatMap((instruction) => {
      if (!['COPY', 'ADD'].includes(instruction.getKeyword()) || flag(instruction, 'from')) return [];
      return argumentValues(instruction)
        .slice(0, -1)
        .map((source) => path.posix.normalize(substitute(source, args)).replace(/\/$/, ''));
    }),
  );
}

/**
 * Where the last COPY/ADD from the build context that covers `localPath`
 * (relative to the context) puts it in the image, and with which --chown.
 */
export function copyTarget(stage: Stage, localPath: string, args: Record<string, string>): CopyTarget | undefined {
  let found: CopyTarget | undefined;
  for (const { instruction, workdir } of effectiveInstructions(stage, args)) {
    if (!(instruction instanceof Copy) && instruction.getKeyword() !== 'ADD') continue;
    if (flag(instruction, 'from')) continue;
    const values = argumentValues(instruction).map((value) => substitute(value, args));
    const destination = values.at(-1) ?? '';
    const absolute = path.posix.resolve(workdir, destination);
    for (const raw of values.slice(0, -1)) {
      const source = path.posix.normalize(raw).replace(/\/$/, '');
      const isDir = existsSync(path.join(repoRoot, source)) && statSync(path.join(repoRoot, source)).isDirectory();
      if (source === localPath) {
        const remote = isDir || !destination.endsWith('/') ? absolute : path.posix.join(absolute, path.posix.basename(source));
        found = { remote, chown: flag(instruction, 'chown'), fromStage: undefined };
      } else if (isDir && (source === '.' || localPath.startsWith(`${source}/`))) {
        const rest = source === '.' ? localPath : localPath.slice(source.length + 1);
        found = { remote: path.posix.join(absolute, rest), chown: flag(instruction, 'chown'), fromStage: undefined };
      }
    }
  }
  return found;
}

/** Build args used in a stage must be declared by an ARG in that very stage (they do not cross FROM). */
export function argScopeProblems(stages: Stage[], buildArgs: string[]): string[] {
  return stages.flatMap((stage) => {
    const declared = new Set(stage.instructions.filter((i) => i.getKeyword() === 'ARG').map((i) => argumentValues(i)[0]?.split('=')[0]));
    const used = new Set(stage.instructions.flatMap((i) => i.getVariables().map((v) => v.getName())).filter((name) => buildArgs.includes(name)));
    return [...used].filter((name) => !declared.has(name)).map((name) => `stage ${stage.name ?? stage.image} uses \${${name}} without its own ARG ${name}`);
  });
}

// ---------------------------------------------------------------- .dockerignore

interface IgnoreRule {
  negate: boolean;
  pattern: RegExp;
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** .dockerignore rules (Docker's semantics: last matching rule wins, a rule also covers everything below a matched folder). */
export function readDockerignore(file = '.dockerignore'): IgnoreRule[] {
  return readFileSync(path.join(repoRoot, file), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const glob = path.posix.normalize(negate ? line.slice(1) : line).replace(/^\/|\/$/g, '');
      return { negate, pattern: globToRegExp(glob) };
    });
}

export function isIgnored(rules: IgnoreRule[], relativePath: string): boolean {
  const parts = relativePath.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((prefix) => rule.pattern.test(prefix))) ignored = !rule.negate;
  }
  return ignored;
}
