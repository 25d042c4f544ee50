import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { formatDiagnostic } from './diagnostic';
import { loadUnit } from './load-unit';
import type { ContainerSpec, Diagnostic, LoadResult, ServiceSpec, Unit } from './types';
import { normalizeUnitName } from './unit-name';

const FIXTURES_DIR = join(__dirname, '..', 'test-fixtures');
const UNITS_DIR = join(__dirname, '..', '..', '..', 'units');
const IMAGE = '127.0.0.1:5000/berth/web:v1';

/** Build a unit file from sections; `[Container]` gets the image unless it sets its own. */
function unitText(sections: Record<string, string[]>): string {
  const container = sections.Container ?? [];
  const withImage = container.some((line) => line.startsWith('Image=')) ? container : [`Image=${IMAGE}`, ...container];
  const all = { ...sections, Container: withImage };
  return Object.entries(all)
    .map(([name, lines]) => `[${name}]\n${lines.join('\n')}\n`)
    .join('');
}

function load(sections: Record<string, string[]>, name = 'app.service'): LoadResult {
  return loadUnit(name, unitText(sections));
}

function unitOf(sections: Record<string, string[]>, name?: string): Unit {
  const result = load(sections, name);
  assert.ok(result.unit, result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.unit;
}

function containerOf(lines: string[]): ContainerSpec {
  const container = unitOf({ Container: lines }).container;
  assert.ok(container);
  return container;
}

function onlyError(result: LoadResult): Diagnostic {
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.length, 1, result.diagnostics.map(formatDiagnostic).join('\n'));
  return errors[0];
}

describe('loadUnit', () => {
  describe('[Container]', () => {
    it('applies defaults', () => {
      assert.deepEqual(containerOf([]), {
        image: IMAGE,
        exec: [],
        environment: {},
        environmentFiles: [],
        publishPorts: [],
        volumes: [],
        network: 'bridge',
        readOnly: false,
        addCapabilities: [],
        dropCapabilities: [],
      });
    });

    it('reads every key', () => {
      const container = containerOf([
        'Exec=/bin/httpd -f -p "8080"',
        'Entrypoint=/bin/sh -c',
        'Environment=A=1 "B=two words"',
        'Environment=C=3',
        'EnvironmentFile=-/etc/berth/web.env',
        'WorkingDir=/www',
        'User=nobody:nogroup',
        'PublishPort=8080:80',
        'PublishPort=127.0.0.1:5353:53/udp',
        'PublishPort=[::1]:8443:443',
        'Volume=/srv/www:/www:ro',
        'Volume=/var/log/web:/logs',
        'Network=host',
        'Memory=512M',
        'CPUs=1.5',
        'PidsLimit=100',
        'ReadOnly=yes',
        'AddCapability=net_bind_service CAP_CHOWN',
        'DropCapability=ALL',
        'HealthCmd=/bin/wget -q -O /dev/null http://127.0.0.1:8080/',
        'HealthInterval=5s',
        'HealthTimeout=1s',
        'HealthRetries=2',
        'HealthStartPeriod=1min',
      ]);
      assert.deepEqual(container, {
        image: IMAGE,
        exec: ['/bin/httpd', '-f', '-p', '8080'],
        entrypoint: ['/bin/sh', '-c'],
        environment: { A: '1', B: 'two words', C: '3' },
        environmentFiles: ['-/etc/berth/web.env'],
        workingDir: '/www',
        user: 'nobody:nogroup',
        publishPorts: [
          { hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
          { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
          { hostIp: '::1', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
        ],
        volumes: [
          { source: '/srv/www', destination: '/www', readOnly: true },
          { source: '/var/log/web', destination: '/logs', readOnly: false },
        ],
        network: 'host',
        memoryBytes: 512 * 1024 * 1024,
        cpus: 1.5,
        pidsLimit: 100,
        readOnly: true,
        addCapabilities: ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
        dropCapabilities: ['ALL'],
        health: {
          kind: 'cmd',
          target: ['/bin/wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'],
          intervalMs: 5000,
          timeoutMs: 1000,
          retries: 2,
          startPeriodMs: 60_000,
        },
      });
    });

    const probes: Array<[line: string, health: object]> = [
      ['HealthHttp=8080/healthz', { kind: 'http', target: [':8080/healthz'], host: '', port: 8080, path: '/healthz' }],
      ['HealthHttp=8080', { kind: 'http', target: [':8080/'], host: '', port: 8080, path: '/' }],
      ['HealthHttp=http://127.0.0.1:80/ok', { kind: 'http', target: ['127.0.0.1:80/ok'], host: '127.0.0.1', port: 80, path: '/ok' }],
      ['HealthTcp=5432', { kind: 'tcp', target: ['5432'], host: '', port: 5432 }],
      ['HealthTcp=localhost:6379', { kind: 'tcp', target: ['localhost:6379'], host: 'localhost', port: 6379 }],
    ];
    for (const [line, health] of probes) {
      it(`reads ${line} with default timing`, () => {
        assert.deepEqual(containerOf([line]).health, { ...health, intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 });
      });
    }

    it('joins a continued Exec line as systemd runs it', () => {
      const chunk = 'x'.repeat(1000);
      const exec = containerOf([`Exec=/bin/echo ${chunk} \\`, `    ${chunk} \\`, `    "${chunk}"`]).exec;
      assert.deepEqual(exec, ['/bin/echo', chunk, chunk, chunk]);
    });

    it('clears a list with an empty assignment', () => {
      assert.deepEqual(containerOf(['Environment=A=1', 'Environment=', 'Environment=B=2']).environment, { B: '2' });
    });

    it('lets the last Image win and warns', () => {
      const result = load({ Container: ['Image=old:v1', `Image=${IMAGE}`] });
      assert.equal(result.unit?.container?.image, IMAGE);
      assert.match(result.diagnostics[0].message, /Image= is set again on line 3/);
    });

    const images = ['busybox', 'busybox:1.36', 'library/busybox:latest', 'localhost:5000/web', 'registry.example.com/team/web:v2', `web@sha256:${'a'.repeat(64)}`, '[::1]:5000/web:v1'];
    for (const image of images) {
      it(`accepts image ${image}`, () => assert.equal(containerOf([`Image=${image}`]).image, image));
    }

    const bad: Array<[line: string, message: RegExp]> = [
      ['Image=Web:v1', /Image: invalid image reference "Web:v1": repository "Web"/],
      ['Image=web:v1 extra', /contains blanks/],
      ['Image=web:-bad', /tag "-bad"/],
      ['Image=web@sha256:short', /digest/],
      ['Exec=echo "open', /Exec: invalid command line/],
      ['Entrypoint=a ; b', /several commands/],
      ['Environment=1A=x', /"1A=x" is not NAME=value/],
      ['Environment=JUSTNAME', /"JUSTNAME" is not NAME=value/],
      ['EnvironmentFile=relative.env', /absolute path/],
      ['WorkingDir=www', /absolute path/],
      ['User=bad user', /expected uid/],
      ['PublishPort=8080', /expected \[hostIp:\]hostPort:containerPort/],
      ['PublishPort=70000:80', /host port "70000"/],
      ['PublishPort=8080:80/sctp', /tcp or udp/],
      ['PublishPort=8000-8010:80', /host port "8000-8010"/],
      ['PublishPort=web:80:80', /not an IPv4 address/],
      ['Volume=data:/data', /named volumes are not supported/],
      ['Volume=/srv:/data/../etc', /destination/],
      ['Volume=/srv:/data:z', /option "z" is not supported/],
      ['Volume=/srv', /expected \/host\/path/],
      ['Network=container:db', /not supported; use bridge, host, none/],
      ['Memory=lots', /Memory: invalid size "lots"/],
      ['Memory=0', /greater than zero/],
      ['CPUs=0', /greater than zero/],
      ['CPUs=two', /CPU count/],
      ['PidsLimit=-1', /whole number/],
      ['ReadOnly=maybe', /invalid boolean/],
      ['Init=perhaps', /invalid boolean/],
      ['AddCapability=CAP_FLY', /not a Linux capability/],
      ['HealthHttp=web', /\[host:\]port/],
      ['HealthTcp=0', /port from 1 to 65535/],
      ['HealthCmd=', /it is empty/],
    ];
    for (const [line, message] of bad) {
      it(`rejects ${line}`, () => {
        const error = onlyError(load({ Container: [line] }));
        assert.equal(error.line, line.startsWith('Image=') ? 2 : 3);
        assert.match(error.message, message);
      });
    }

    it('reads Init as a boolean', () => {
      assert.equal(containerOf(['Init=true']).init, true);
      assert.equal(containerOf(['Init=no']).init, false);
      assert.equal(containerOf([]).init, undefined);
    });

    it('rejects two probes', () => {
      assert.match(onlyError(load({ Container: ['HealthTcp=80', 'HealthHttp=80'] })).message, /HealthHttp= conflicts with HealthTcp= \(line 3\)/);
    });

    it('rejects a host port published twice', () => {
      assert.match(onlyError(load({ Container: ['PublishPort=80:80', 'PublishPort=80:81'] })).message, /already published on line 3/);
    });

    it('rejects PublishPort with Network=none', () => {
      const error = onlyError(load({ Container: ['Network=none', 'PublishPort=80:80'] }));
      assert.equal(error.line, 4);
      assert.match(error.message, /Network=none gives the container only loopback/);
    });

    it('warns about PublishPort with Network=host', () => {
      const result = load({ Container: ['Network=host', 'PublishPort=80:80'] });
      assert.ok(result.unit);
      assert.match(result.diagnostics[0].message, /no effect with Network=host/);
    });

    it('warns about a network probe with Network=none', () => {
      const result = load({ Container: ['Network=none', 'HealthTcp=80'] });
      assert.ok(result.unit);
      assert.match(result.diagnostics[0].message, /HealthTcp= probes the container's address/);
    });

    it('warns about health timing without a probe', () => {
      const result = load({ Container: ['HealthRetries=5'] });
      assert.match(result.diagnostics[0].message, /no effect without HealthCmd/);
    });
  });

  describe('[Service]', () => {
    const defaults: ServiceSpec = { restart: 'no', restartSecMs: 100, timeoutStopSecMs: 10_000, startLimitBurst: 5, startLimitIntervalMs: 10_000 };

    it('applies defaults', () => assert.deepEqual(unitOf({}).service, defaults));

    it('reads every key', () => {
      const service = unitOf({
        Service: ['Restart=on-failure', 'RestartSec=1min 30s', 'TimeoutStopSec=30', 'StartLimitBurst=3', 'StartLimitIntervalSec=2min'],
      }).service;
      assert.deepEqual(service, { restart: 'on-failure', restartSecMs: 90_000, timeoutStopSecMs: 30_000, startLimitBurst: 3, startLimitIntervalMs: 120_000 });
    });

    it('reads start limits from [Unit]', () => {
      const service = unitOf({ Unit: ['StartLimitBurst=2', 'StartLimitIntervalSec=1s'] }).service;
      assert.equal(service.startLimitBurst, 2);
      assert.equal(service.startLimitIntervalMs, 1000);
    });

    it('accepts the deprecated StartLimitInterval with a warning', () => {
      const result = load({ Service: ['StartLimitInterval=30s'] });
      assert.equal(result.unit?.service.startLimitIntervalMs, 30_000);
      assert.match(result.diagnostics[0].message, /StartLimitInterval= is deprecated; use StartLimitIntervalSec=/);
    });

    it('lets the later of [Unit] and [Service] start limits win', () => {
      const result = load({ Unit: ['StartLimitBurst=2'], Service: ['StartLimitBurst=9'] });
      assert.equal(result.unit?.service.startLimitBurst, 9);
      assert.match(result.diagnostics[0].message, /StartLimitBurst= is overridden by StartLimitBurst= on line/);
    });

    it('folds systemd resource keys into the container', () => {
      const container = unitOf({ Service: ['MemoryMax=1G', 'CPUQuota=150%', 'TasksMax=50'] }).container;
      assert.equal(container?.memoryBytes, 1024 ** 3);
      assert.equal(container?.cpus, 1.5);
      assert.equal(container?.pidsLimit, 50);
    });

    it('prefers [Container] limits and warns', () => {
      const result = load({ Container: ['Memory=64M'], Service: ['MemoryMax=1G'] });
      assert.equal(result.unit?.container?.memoryBytes, 64 * 1024 * 1024);
      assert.match(result.diagnostics[0].message, /MemoryMax= is ignored because \[Container\] Memory= is set/);
    });

    it('reads infinity as no limit', () => {
      assert.equal(unitOf({ Service: ['MemoryMax=infinity', 'TasksMax=infinity'] }).container?.memoryBytes, undefined);
    });

    const bad: Array<[line: string, message: RegExp]> = [
      ['Restart=on-abort', /"on-abort" is not supported by Berth; use no, on-failure, always/],
      ['Restart=sometimes', /"sometimes" is not a restart policy/],
      ['RestartSec=soon', /RestartSec: invalid duration "soon"/],
      ['TimeoutStopSec=infinity', /not supported here/],
      ['StartLimitBurst=many', /whole number/],
      ['MemoryMax=50%', /percentages are not supported/],
      ['CPUQuota=2', /percentage of one CPU/],
    ];
    for (const [line, message] of bad) {
      it(`rejects ${line}`, () => {
        const error = onlyError(load({ Service: [line] }));
        assert.match(error.message, message);
      });
    }

    it('warns about systemd keys Berth ignores', () => {
      const result = load({ Service: ['ExecStart=/usr/bin/docker run web'] });
      assert.ok(result.unit);
      assert.match(result.diagnostics[0].message, /ExecStart= in \[Service\] is a systemd setting that Berth ignores; put the command in \[Container\] Exec=/);
    });
  });

  describe('names and sections', () => {
    it('reads the description with specifiers', () => {
      assert.equal(unitOf({ Unit: ['Description=Web %i (%p)'] }, 'web@3.service').description, 'Web 3 (web)');
    });

    it('uses the last Description and warns', () => {
      const result = load({ Unit: ['Description=first', 'Description=second'] });
      assert.equal(result.unit?.description, 'second');
      assert.equal(result.diagnostics[0].line, 2);
      assert.match(result.diagnostics[0].message, /set again on line 3/);
    });

    it('expands %H and %m only with a machine', () => {
      const text = unitText({ Container: ['Environment=HOST=%H ID=%m'] });
      assert.deepEqual(loadUnit('a.service', text).unit?.container?.environment, { HOST: '%H', ID: '%m' });
      const machine = { hostname: 'node-2', machineId: 'f00dfeedf00dfeedf00dfeedf00dfeed' };
      assert.deepEqual(loadUnit('a.service', text, undefined, machine).unit?.container?.environment, {
        HOST: 'node-2',
        ID: 'f00dfeedf00dfeedf00dfeedf00dfeed',
      });
    });

    it('expands specifiers after splitting a command', () => {
      const unit = unitOf({ Container: ['Exec=/bin/echo %i "%n"', 'Environment=NAME=%i'] }, 'echo@a\\x20b.service');
      assert.deepEqual(unit.container?.exec, ['/bin/echo', 'a\\x20b', 'echo@a\\x20b.service']);
      assert.deepEqual(unit.container?.environment, { NAME: 'a\\x20b' });
    });

    it('keeps an unknown escape with a warning', () => {
      const result = load({ Container: ['Exec=/bin/grep -E "\\d+" /data'] });
      assert.deepEqual(result.unit?.container?.exec, ['/bin/grep', '-E', '\\d+', '/data']);
      assert.match(result.diagnostics[0].message, /contains "\\d", which is not a known escape/);
    });

    it('warns about an unknown specifier', () => {
      const result = load({ Container: ['Exec=date +%s'] });
      assert.match(result.diagnostics[0].message, /"%s", which is not a specifier Berth expands/);
    });

    it('loads a template without a container', () => {
      const result = loadUnit('web@.service', '[Unit]\nDescription=template\n');
      assert.deepEqual(result.diagnostics, []);
      assert.equal(result.unit?.nameInfo.isTemplate, true);
      assert.equal(result.unit?.container, undefined);
    });

    it('rejects a unit without [Container]', () => {
      const result = loadUnit('a.service', '[Unit]\nDescription=x\n', 'a.service');
      const error = onlyError(result);
      assert.equal(formatDiagnostic(error), 'a.service: error: the unit has no [Container] section; Berth runs containers: add [Container] with Image=');
    });

    it('rejects [Container] without Image=', () => {
      const error = onlyError(loadUnit('a.service', '[Unit]\n\n[Container]\nExec=/bin/true\n'));
      assert.equal(error.line, 3);
      assert.match(error.message, /\[Container\] has no Image=/);
    });

    it('rejects an invalid name', () => {
      const result = loadUnit('yes/no.service', unitText({}));
      assert.match(onlyError(result).message, /contains "\/"/);
      assert.equal(onlyError(result).line, 0);
    });

    it('rejects a unit type other than service', () => {
      assert.match(onlyError(loadUnit('a.socket', unitText({}))).message, /\.socket unit; not supported/);
    });

    const sections: Array<[section: string, message: RegExp]> = [
      ['Containr', /unknown section \[Containr\] is kept but has no effect; did you mean \[Container\]\?/],
      ['X-fleet', /did you mean \[X-Fleet\]\?/],
      [' Service ', /unknown section \[ Service \] .*did you mean \[Service\]\?/],
      ['Install', /\[Install\] has no effect/],
      ['Timer', /unknown section \[Timer\] is kept but has no effect$/],
    ];
    for (const [section, message] of sections) {
      it(`warns about [${section}]`, () => {
        const result = loadUnit('a.service', `[${section}]\nKey=v\n${unitText({})}`);
        assert.ok(result.unit);
        assert.equal(result.diagnostics.length, 1);
        assert.equal(result.diagnostics[0].line, 1);
        assert.match(result.diagnostics[0].message, message);
      });
    }

    it('points a key in the wrong section to its home', () => {
      const result = load({ Service: ['Image=busybox'] });
      assert.match(result.diagnostics[0].message, /Image= has no effect in \[Service\]; it belongs in \[Container\]/);
    });

    it('keeps the text and hashes the options', () => {
      const text = `# comment\n${unitText({})}`;
      const unit = loadUnit('a.service', text).unit;
      assert.equal(unit?.text, text);
      assert.equal(unit?.hash, loadUnit('a.service', unitText({})).unit?.hash);
    });

    it('reports problems from every stage sorted by line', () => {
      const result = loadUnit('a.service', '[Unit]\nbroken\n[Container]\nImage=BAD\n[Service]\nRestart=x\n');
      assert.deepEqual(
        result.diagnostics.map((d) => d.line),
        [2, 4, 6],
      );
      assert.equal(result.unit, undefined);
    });
  });

  describe('fixtures', () => {
    it('reports five mistakes with their lines', () => {
      const path = join(FIXTURES_DIR, 'five-mistakes.service');
      const result = loadUnit('five-mistakes.service', readFileSync(path, 'utf8'), 'five-mistakes.service');
      assert.deepEqual(
        result.diagnostics.map((d) => [d.line, d.column, d.severity]),
        [
          [6, 1, 'warning'],
          [8, 11, 'error'],
          [10, 1, 'error'],
          [12, 13, 'error'],
          [13, 8, 'error'],
        ],
      );
      assert.match(result.diagnostics[0].message, /did you mean MachineMetadata=/);
      assert.match(result.diagnostics[1].message, /MachineOf= cannot be combined with Global=/);
      assert.match(result.diagnostics[2].message, /missing the closing "\]"/);
      assert.match(result.diagnostics[3].message, /PublishPort/);
      assert.match(result.diagnostics[4].message, /Memory/);
    });

    const examples = readdirSync(UNITS_DIR).filter((file) => !file.startsWith('.'));
    it('finds the example units', () => assert.ok(examples.length >= 4, examples.join(', ')));
    for (const file of examples) {
      it(`loads units/${file} without diagnostics`, () => {
        const name = normalizeUnitName(file);
        const result = loadUnit(name, readFileSync(join(UNITS_DIR, file), 'utf8'), `units/${file}`);
        assert.deepEqual(result.diagnostics.map(formatDiagnostic), []);
        assert.ok(result.unit);
      });
    }

    it('loads an instance of the web template', () => {
      const text = readFileSync(join(UNITS_DIR, 'web@.service'), 'utf8');
      const unit = loadUnit('web@2.service', text).unit;
      assert.equal(unit?.description, 'Static web server 2 (busybox httpd)');
      assert.deepEqual(unit?.fleet.conflicts, ['web@*.service']);
      assert.deepEqual(unit?.container?.environment, { INSTANCE: '2' });
    });
  });
});
