/**
 * The front page's script, as the text the page inlines (plain ES2020 for the browser: there is no
 * build step, and neither runtime's types describe the DOM). The page works without it except
 * for what needs the browser to ask the registry:
 *
 *   - the pull command follows the form as it is typed (the server composes it on submit);
 *   - "Check" sends the HEAD of the manifest a client would send, and says what the answer means:
 *     ready (layers and compressed size, read from the manifest by digest, which never builds),
 *     building (the build's step and layers from the status JSON, polled while the HEAD waits),
 *     unknown packages (with the registry's suggestions, one click to use them), or the error.
 *     A HEAD carries no body: for a refusal the same GET is asked, which the registry answers
 *     from its memory of the refusal without building again; for a server failure the build's
 *     own reason comes from the status JSON;
 *   - the builds list refreshes every 2 s while the page is visible.
 *
 * Everything the registry says is put into the page as text, never as HTML.
 */

export const CHECK_SCRIPT = String.raw`(() => {
  'use strict';
  const form = document.getElementById('compose');
  if (!form) return;
  const host = form.dataset.host;
  const statusPath = form.dataset.status;
  const fields = form.elements;
  const pull = document.getElementById('pull');
  const composeError = document.getElementById('compose-error');
  const answer = document.getElementById('answer');
  const checkButton = document.getElementById('check');
  const ACCEPT = [
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
  ].join(', ');
  const INDEX_TYPES = ACCEPT.split(', ').slice(0, 2);
  const STEPS = {
    starting: 'starting',
    queued: 'waiting for a free slot',
    evaluate: 'evaluating the package set',
    'fetch-source': 'fetching the package set',
    realise: 'building the packages with nix',
    'closure-graph': 'reading the runtime closure',
    layer: 'compressing and uploading layers',
    'customisation-layer': 'writing the top layer',
    publish: 'publishing the image',
  };

  // A DOM element with attributes and children (strings become text, never markup).
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) if (child !== null && child !== undefined && child !== '') node.append(child);
    return node;
  };
  const size = (bytes) => (bytes >= 1e6 ? (bytes / 1e6).toFixed(1) + ' MB' : Math.max(1, Math.round(bytes / 1e3)) + ' kB');
  const duration = (ms) => (ms < 60000 ? Math.max(0, Math.round(ms / 1000)) + ' s' : Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s');

  // The image name the form composes, as the server composes it (shared/web/compose.ts).
  const composed = () => {
    const packages = fields.packages.value.split(/[\s,/]+/).filter(Boolean).map((name) => name.toLowerCase());
    const components = [].concat(fields.shell.checked ? ['shell'] : [], fields.arm64.checked ? ['arm64'] : [], fields.zstd.checked ? ['zstd'] : [], packages);
    if (components.length === 0) return { error: 'Name at least one package (or tick shell).' };
    const name = components.join('/');
    const tag = fields.tag.value.trim() || 'latest';
    return { name, tag, reference: tag === 'latest' ? name : name + ':' + tag };
  };
  const showPull = () => {
    const image = composed();
    pull.textContent = image.error ? '' : 'docker pull ' + host + '/' + image.reference;
    composeError.textContent = image.error || '';
  };
  const say = (state, title, ...parts) => {
    answer.dataset.state = state;
    answer.replaceChildren(el('strong', {}, title), ...parts.filter(Boolean).map((part) => (typeof part === 'string' ? el('p', {}, part) : part)));
  };
  // A JSON answer, whatever its status (a registry error body is JSON too).
  const getJson = async (url, accept) => (await fetch(url, { headers: { Accept: accept }, cache: 'no-store' })).json();
  // The build status document (all builds, or one image's); rejects unless the registry answers it.
  const getStatus = async (query) => {
    const response = await fetch(statusPath + query, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!response.ok) throw new Error('status ' + response.status);
    return response.json();
  };
  const statusOf = (image) => getStatus('?image=' + encodeURIComponent(image.name) + '&tag=' + encodeURIComponent(image.tag));

  // One line about a build: platform, step or outcome, layers, bytes, time.
  const describeBuild = (build) => {
    const layers = build.layers.total === null ? '' : ', layers ' + build.layers.done + ' of ' + build.layers.total;
    const bytes = build.bytesCompressed > 0 ? ', ' + size(build.bytesCompressed) + ' compressed' : '';
    const state = build.outcome ? build.outcome : STEPS[build.step] || build.step;
    return build.platform + ': ' + state + layers + bytes + ' (' + duration(build.elapsedMs) + ')';
  };

  // Polls the status while the HEAD waits, showing the build it waits for; seen collects its ids.
  const watchBuild = (image, isCurrent, seen) => {
    let stopped = false;
    let timer;
    const poll = async () => {
      try {
        const status = await statusOf(image);
        for (const build of status.inFlight) seen.add(build.id);
        if (!stopped && isCurrent() && status.inFlight.length > 0) {
          say('building', 'Building ' + image.reference + '…', ...status.inFlight.map((build) => el('p', { class: 'state-building' }, describeBuild(build))));
        }
      } catch (error) {
        // The status is a nicety: the check goes on without it.
      }
      if (!stopped) timer = setTimeout(poll, 1000);
    };
    timer = setTimeout(poll, 300);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  };

  // Layers and compressed size of the image a HEAD answered (each platform's, for an index).
  const ready = async (image, head) => {
    const digest = head.headers.get('docker-content-digest');
    const manifest = (ref) => getJson('/v2/' + image.name + '/manifests/' + ref, ACCEPT);
    const summary = (m, platform) => {
      const layers = m.layers || [];
      const bytes = layers.reduce((sum, layer) => sum + layer.size, 0) + (m.config ? m.config.size : 0);
      return (platform ? platform + ': ' : '') + layers.length + ' layers, ' + size(bytes) + ' compressed';
    };
    let lines;
    if (INDEX_TYPES.includes((head.headers.get('content-type') || '').split(';')[0])) {
      const index = await manifest(digest);
      lines = await Promise.all(index.manifests.map(async (entry) => summary(await manifest(entry.digest), entry.platform ? entry.platform.os + '/' + entry.platform.architecture : '')));
    } else {
      lines = [summary(await manifest(digest))];
    }
    say('ready', 'Ready: ' + lines.join('; '), el('pre', {}, el('code', {}, 'docker pull ' + host + '/' + image.reference)), el('p', { class: 'muted' }, digest));
  };

  // Replaces a package of the form with a suggestion, then checks again.
  const usePackage = (wrong, right) => {
    const packages = fields.packages.value.split(/[\s,/]+/).filter(Boolean);
    fields.packages.value = packages.map((name) => (name.toLowerCase() === wrong ? right : name)).join(' ');
    showPull();
    check();
  };

  // The reason a build this check waited for ended with, from the status (which the edge keeps
  // a couple of seconds): the build seen in flight, or else the image's last one.
  const buildReason = async (image, seen) => {
    for (let attempt = 0; attempt < 4; attempt++) {
      const status = await statusOf(image).catch(() => undefined);
      const ended = status && (status.recent.find((build) => seen.has(build.id)) || (seen.size === 0 ? status.recent[0] : undefined));
      if (ended && ended.error) return ended.error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return undefined;
  };

  // Says why the registry refused, in its own words.
  const failed = async (image, url, head, seen) => {
    let error;
    if (head.status >= 400 && head.status < 500 && head.status !== 429) {
      error = await getJson(url, ACCEPT).then((body) => body.errors && body.errors[0], () => undefined);
    } else if (head.status >= 500) {
      say('checking', 'The registry answered ' + head.status + ': reading why…');
      error = await buildReason(image, seen);
    }
    error = error || { code: String(head.status), message: head.statusText || 'HTTP ' + head.status };
    const retry = head.headers.get('retry-after') ? 'Retry in ' + head.headers.get('retry-after') + ' s.' : '';
    if (head.status === 404 && error.code === 'MANIFEST_UNKNOWN') {
      const unknown = (error.detail && error.detail.unknown) || [];
      const suggestions = unknown.filter((entry) => entry.suggestions && entry.suggestions.length > 0).map((entry) => {
        const line = el('p', {}, 'Instead of ', el('code', {}, entry.package), ', did you mean');
        for (const suggestion of entry.suggestions) {
          const button = el('button', { type: 'button', class: 'suggestion secondary' }, suggestion);
          button.addEventListener('click', () => usePackage(entry.package, suggestion));
          line.append(button);
        }
        line.append('?');
        return line;
      });
      say('unknown', unknown.length > 1 ? 'Unknown packages' : 'Unknown package', error.message, ...suggestions);
      return;
    }
    const title =
      head.status === 429 ? 'The registry is busy' :
      head.status >= 500 ? 'The registry could not answer (' + head.status + ')' :
      error.code === 'MANIFEST_UNKNOWN' ? 'This image cannot be built (' + head.status + ')' :
      'Refused (' + head.status + ' ' + error.code + ')';
    say('error', title, error.message, retry);
  };

  let current = 0;
  // Asks the registry what a client's pull would get: the HEAD of the manifest.
  async function check() {
    const image = composed();
    if (image.error) return say('error', image.error);
    const run = ++current;
    const isCurrent = () => run === current;
    checkButton.disabled = true;
    say('checking', 'Asking the registry for ' + image.reference + '…');
    const url = '/v2/' + image.name + '/manifests/' + encodeURIComponent(image.tag);
    const seen = new Set();
    const stopWatching = watchBuild(image, isCurrent, seen);
    try {
      const head = await fetch(url, { method: 'HEAD', headers: { Accept: ACCEPT }, cache: 'no-store' });
      stopWatching();
      if (!isCurrent()) return;
      if (head.ok) await ready(image, head);
      else await failed(image, url, head, seen);
    } catch (error) {
      stopWatching();
      if (isCurrent()) say('error', 'The registry could not be reached', String((error && error.message) || error));
    } finally {
      if (isCurrent()) checkButton.disabled = false;
    }
  }

  // The builds list: in flight first, then the last ones.
  const table = document.getElementById('builds-table');
  const summary = document.getElementById('builds-summary');
  const renderBuilds = (status) => {
    const builds = status.inFlight.concat(status.recent);
    const waiting = status.queues.builds.queued + status.queues.evaluations.queued;
    summary.textContent = (status.inFlight.length === 0 ? 'Nothing is building right now.' : status.inFlight.length + ' building now.') + (waiting > 0 ? ' ' + waiting + ' waiting.' : '') + (status.recent.length > 0 ? ' Lately:' : '');
    table.hidden = builds.length === 0;
    table.tBodies[0].replaceChildren(...builds.map((build) => {
      const state = build.outcome
        ? el('span', { class: build.outcome === 'built' ? 'state-ready' : 'state-failed' }, build.outcome, build.error ? ': ' + build.error.message : '')
        : el('span', { class: 'state-building' }, STEPS[build.step] || build.step);
      return el('tr', {},
        el('td', {}, el('code', {}, build.image + (build.tag === 'latest' ? '' : ':' + build.tag)), ' ', el('span', { class: 'muted' }, build.platform)),
        el('td', {}, state),
        el('td', {}, build.layers.total === null ? '' : build.layers.done + '/' + build.layers.total),
        el('td', {}, build.bytesCompressed > 0 ? size(build.bytesCompressed) : ''),
        el('td', {}, duration(build.elapsedMs)));
    }));
  };
  const refreshBuilds = async () => {
    if (document.visibilityState !== 'hidden') {
      await getStatus('').then(renderBuilds, () => {
        summary.textContent = 'The build status cannot be read right now.';
      });
    }
    setTimeout(refreshBuilds, 2000);
  };

  form.addEventListener('input', showPull);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    showPull();
    history.replaceState(null, '', '?' + new URLSearchParams(new FormData(form)).toString());
  });
  checkButton.addEventListener('click', check);
  checkButton.hidden = false;
  refreshBuilds();
})();`;
