import assert from 'node:assert/strict';
import { renderEtcFiles } from './etc-files';

const HOST_RESOLV_CONF = 'nameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\nsearch example.org\n';
const HOST_HOSTS = '127.0.0.1\tlocalhost\n192.0.2.10\tdb\n';

describe('renderEtcFiles', function () {
  it('names the container address in bridge mode', function () {
    const files = renderEtcFiles({ mode: 'bridge', hostname: 'web', address: '10.99.0.2', hostResolvConf: HOST_RESOLV_CONF, hostHosts: '' });
    assert.equal(files.hosts, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.99.0.2\tweb\n');
    assert.equal(files.hostname, 'web\n');
  });

  it('drops loopback name servers outside host mode', function () {
    const files = renderEtcFiles({ mode: 'bridge', hostname: 'web', address: '10.99.0.2', hostResolvConf: HOST_RESOLV_CONF, hostHosts: '' });
    assert.equal(files.resolvConf, 'options edns0\nsearch example.org\nnameserver 192.0.2.53\n');
  });

  it('replaces name servers with configured ones', function () {
    const files = renderEtcFiles({ mode: 'bridge', hostname: 'web', address: '10.99.0.2', hostResolvConf: HOST_RESOLV_CONF, hostHosts: '', dnsServers: ['192.0.2.99'] });
    assert.equal(files.resolvConf, 'options edns0\nsearch example.org\nnameserver 192.0.2.99\n');
  });

  it('says so when no name server is left', function () {
    const files = renderEtcFiles({ mode: 'none', hostname: 'batch', hostResolvConf: 'nameserver 127.0.0.53\n', hostHosts: '' });
    assert.equal(files.resolvConf, '# No name server of the host is reachable from a container; configure dnsServers.\n');
    assert.match(files.hosts, /^127\.0\.1\.1\tbatch$/m);
  });

  it('copies the host files in host mode', function () {
    const files = renderEtcFiles({ mode: 'host', hostname: 'agent', hostResolvConf: HOST_RESOLV_CONF, hostHosts: HOST_HOSTS });
    assert.equal(files.resolvConf, HOST_RESOLV_CONF);
    assert.equal(files.hosts, `${HOST_HOSTS}127.0.1.1\tagent\n`);
  });
});
