// Page-side helpers of tests/test_browser.py, installed in every page before JupyterLab loads
// (context.add_init_script); browser_support.js() calls them as window.__bt.<name>(...).
// Every function takes the notebook's path in the server. Nothing here knows a lesson or a widget by name.
window.__bt = (() => {
  const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
  // What a callback can change: Output widgets (interact's output), HTML/Label/Image/progress displays.
  const DISPLAY = '.widget-output, .widget-html, .widget-htmlmath, .widget-image, .jupyter-widgets.widget-label, '
                + '.widget-hprogress, .widget-vprogress, .widget-valid';
  // The ipywidgets 8 controls the lessons use, by the class on the view's root element (IntSlider and FloatSlider,
  // Dropdown, Checkbox, ToggleButtons, RadioButtons, Text). Any other control a learner could operate is reported
  // by discover() as unsupported, so a lesson with a new kind fails here until move_control() knows it.
  // Order matters: a container claims what it holds.
  const KINDS = [
    ['slider', '.widget-slider, .widget-hslider, .widget-vslider'],
    ['dropdown', '.widget-dropdown'],
    ['checkbox', '.widget-checkbox'],
    ['toggle-buttons', '.widget-toggle-buttons'],
    ['radio-buttons', '.widget-radio'],
    ['text', '.widget-text'],
  ];
  const INTERACTIVE = 'input, select, textarea, button, [role="slider"], [contenteditable="true"]';
  const busy = {};
  const pending = {};  // per notebook: ids of the messages sent to the kernel whose execution has not ended yet

  function panel(path) {
    const app = window.jupyterapp;
    if (!app || !app.shell) return null;
    for (const w of app.shell.widgets('main')) {
      if (w && w.context && w.context.path === path && w.content && w.sessionContext) return w;
    }
    return null;
  }
  function kernel(path) {
    const p = panel(path);
    return p && p.sessionContext.session ? p.sessionContext.session.kernel : null;
  }
  function kernelIdle(path) {
    const p = panel(path), k = kernel(path);
    if (!p || !k || !p.sessionContext.isReady) return false;
    if (k.status !== 'idle' || k.connectionStatus !== 'connected') return false;
    const ind = p.node.querySelector('.jp-Notebook-ExecutionIndicator');
    return !ind || ind.dataset.status === 'idle';
  }
  // Watch the kernel: count its busy periods (to tell "the callback ran and changed nothing") and keep the ids of
  // the shell messages the page sent (a widget's comm_msg: a control moved) until the kernel's status "idle" for
  // each has arrived: after that, every output of that execution has been received (IOPub is ordered).
  function watchKernel(path) {
    const k = kernel(path);
    if (!k) return false;
    if (!k.__btWatched) {
      k.__btWatched = true;
      const mine = pending[path] = new Set();
      k.statusChanged.connect((_, s) => { if (s === 'busy') busy[path] = (busy[path] || 0) + 1; });
      k.anyMessage.connect((_, {msg, direction}) => {
        if (direction === 'send' && msg.channel === 'shell') mine.add(msg.header.msg_id);
        else if (direction === 'recv' && msg.header.msg_type === 'status' && msg.content.execution_state === 'idle'
                 && msg.parent_header) mine.delete(msg.parent_header.msg_id);
      });
    }
    return true;
  }
  function busyCount(path) { return busy[path] || 0; }
  function pendingCount(path) { return pending[path] ? pending[path].size : -1; }
  // Everything the page asked of the kernel has run and its outputs have arrived.
  function settled(path) { return kernelIdle(path) && pendingCount(path) === 0; }
  // Run a JupyterLab command by its id (as the menus and shortcuts do) on this notebook, made the current widget.
  function command(path, id, args) {
    const app = window.jupyterapp, p = panel(path);
    if (!app.commands.hasCommand(id)) throw new Error(`JupyterLab has no command ${id}`);
    if (!p) throw new Error(`no notebook panel for ${path}`);
    app.shell.activateById(p.id);
    app.commands.execute(id, args || {});  // not awaited: the caller waits for what the command must bring about
    return true;
  }
  function cells(path) {  // [{index, type, model, node}] for every cell; index counts from 1, as "Cell N/M" in
    const p = panel(path);  // JupyterLab's status bar
    const models = [...p.content.model.cells];
    return models.map((m, i) => ({index: i + 1, type: m.type, model: m, node: p.content.widgets[i].node}));
  }
  function runState(path) {
    const code = cells(path).filter(c => c.type === 'code');
    return {
      n: code.length,
      counts: code.map(c => c.model.executionCount),
      running: code.filter(c => c.model.executionState === 'running').length,
      idle: kernelIdle(path),
    };
  }
  function allCleared(path) { return runState(path).counts.every(c => c === null); }
  function runDone(path) {
    const s = runState(path);  // (a notebook without code cells has nothing to run)
    return s.idle && s.running === 0 && (s.n === 0 || s.counts.some(c => c !== null));
  }
  function outputsJSON(c) {
    const out = [];
    for (let i = 0; i < c.model.outputs.length; i++) out.push(c.model.outputs.get(i).toJSON());
    return out;
  }
  function modelErrors(path) {
    const errors = [];
    for (const c of cells(path).filter(c => c.type === 'code')) {
      for (const o of outputsJSON(c)) {
        if (o.output_type === 'error') errors.push(`cell ${c.index}: ${o.ename}: ${o.evalue}`);
      }
    }
    return errors;
  }
  // Every widget-view output of a cell must show a rendered view: not "Loading widget...", not an error.
  // Output i of a cell's model is child i of its output area.
  function widgetRender(path) {
    let expected = 0, rendered = 0, loading = 0;
    const bad = [];
    for (const c of cells(path).filter(c => c.type === 'code')) {
      const area = c.node.querySelector('.jp-Cell-outputArea');
      const nodes = area ? [...area.querySelectorAll(':scope > .jp-OutputArea-child > .jp-OutputArea-output')] : [];
      outputsJSON(c).forEach((o, i) => {
        if (!(o.data && o.data[WIDGET_VIEW] && o.data[WIDGET_VIEW].model_id)) return;
        expected++;
        const n = nodes[i];
        if (n && (n.querySelector('.jupyter-widgets-error-widget') ||
                  (n.classList.contains('jupyter-widgets') && /Error displaying widget/.test(n.textContent)))) {
          bad.push(`cell ${c.index}, output ${i}: ${n.textContent.replace(/\s+/g, ' ').trim().slice(0, 200)}`);
        } else if (n && n.querySelector(':scope > .jupyter-widgets')) {
          rendered++;
        } else {
          loading++;
          const shows = n ? JSON.stringify(n.textContent.slice(0, 100)) : 'no output node';
          bad.push(`cell ${c.index}, output ${i}: not rendered (${shows})`);
        }
      });
    }
    return {expected, rendered, loading, bad};
  }
  // What a learner would see as an error: tracebacks and widget errors in any output.
  function problems(path) {
    const found = [];
    for (const c of cells(path)) {
      const area = c.node.querySelector('.jp-Cell-outputArea');
      if (!area) continue;
      // innermost outputs only (an interact's own output node holds its Output widget's outputs)
      for (const o of area.querySelectorAll('.jp-OutputArea-output')) {
        if (o.querySelector('.jp-OutputArea-output')) continue;
        // textContent to find one (innerText lays the page out: slow over a whole notebook), innerText to show it
        if (/Traceback/.test(o.textContent)) {
          const t = o.innerText || o.textContent;
          found.push(`cell ${c.index}: traceback shown (${o.dataset.mimeType || 'widget'}):\n${tail(t, 12)}`);
        }
      }
      const t = area.textContent;
      const i = t.indexOf('Error displaying widget');
      if (i >= 0) found.push(`cell ${c.index}: ${t.slice(i, i + 300)}`);
      if (area.querySelector('.jupyter-widgets-error-widget'))  // ipywidgets' broken-view icon
        found.push(`cell ${c.index}: a widget view failed to render (ipywidgets' error icon; see the browser console)`);
    }
    return [...new Set(found)];
  }
  function tail(text, n) {  // the end of a traceback says what went wrong
    const lines = text.replace(/\s+$/, '').split('\n');
    if (lines.length <= n + 2) return lines.join('\n');
    return [lines[0], `  … (${lines.length - n - 1} lines)`, ...lines.slice(-n)].join('\n');
  }
  function labelOf(el, kind, i) {
    const clean = s => (s || '').replace(/\u200b/g, '').trim();
    const direct = [...el.children].find(ch => ch.matches('label.widget-label'));
    const basic = el.querySelector('.widget-label-basic');  // a checkbox's description
    for (const s of [direct && direct.textContent, basic && basic.textContent,
                     el.getAttribute('title')]) {
      if (clean(s)) return clean(s);
    }
    return `${kind} #${i}`;
  }
  // Tag every control in the notebook with data-bt-control=N and describe it.
  function discover(path) {
    const root = panel(path).content.node;
    root.querySelectorAll('[data-bt-control]').forEach(e => e.removeAttribute('data-bt-control'));
    const claimed = [], found = [];
    const all = cells(path);
    const cellIndex = el => all.findIndex(c => c.node === el.closest('.jp-Cell')) + 1;
    for (const [kind, sel] of KINDS) {
      for (const el of root.querySelectorAll(sel)) {
        if (claimed.some(c => c.contains(el) || el.contains(c))) continue;
        claimed.push(el);
        found.push({el, kind});
      }
    }
    found.sort((a, b) => (a.el.compareDocumentPosition(b.el) & Node.DOCUMENT_POSITION_FOLLOWING) ? -1 : 1);
    const controls = found.map(({el, kind}, id) => {  // in page order
      el.setAttribute('data-bt-control', String(id));
      const disabled = !!(el.querySelector('[disabled]') || el.matches('[disabled], :disabled'));
      return {id, kind, label: labelOf(el, kind, id), cell: cellIndex(el), disabled};
    });
    const unsupported = new Set();  // anything else a learner could operate in a widget view
    for (const x of root.querySelectorAll(INTERACTIVE)) {
      const view = x.closest('.jupyter-widgets');
      if (!view || claimed.some(c => c.contains(x))) continue;
      if (x.matches('input[type="file"]') || x.closest('.jp-InputArea')) continue;
      const output = x.closest('.jp-OutputArea-output');  // plain HTML output shown inside an Output widget
      if (output && view.contains(output)) continue;
      unsupported.add(`cell ${cellIndex(x)}: <${x.tagName.toLowerCase()}> in a widget view of class "${view.className}"`);
    }
    return {controls, unsupported: [...unsupported]};
  }
  function control(id) { return document.querySelector(`[data-bt-control="${id}"]`); }
  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(16) + ':' + s.length;
  }
  // What this control's output shows now: its interact box's displays, else its cell's, else the notebook's.
  function snapshot(path, id) {
    const el = control(id);
    const pick = root => [...root.querySelectorAll(DISPLAY)].filter(d => !d.contains(el));
    let scope = 'interact', shown = [];
    const box = el.closest('.widget-interact');
    if (box) shown = pick(box);
    if (!shown.length) { scope = 'cell'; shown = pick(el.closest('.jp-Cell')); }
    if (!shown.length) { scope = 'notebook'; shown = pick(panel(path).content.node); }
    const parts = shown.map(d => [d.innerText, ...[...d.querySelectorAll('img')].map(i => i.src),
                                  ...[...d.querySelectorAll('svg')].map(s => s.outerHTML)].join('\n'));
    const text = shown.map(d => d.innerText).join('\n---\n');
    return {scope, n: shown.length, key: hash(parts.join('\n===\n')), text: tail(text, 10).slice(-1200),
            images: shown.reduce((k, d) => k + d.querySelectorAll('img, svg').length, 0)};
  }
  function changed(path, id, key) { return snapshot(path, id).key !== key; }
  // One round trip before and one after moving a control (each page.evaluate costs a round trip).
  function beforeMove(path, id) { return {snapshot: snapshot(path, id), busy: busyCount(path), problems: problems(path)}; }
  function afterMove(path, id, key) { return {changed: changed(path, id, key), problems: problems(path)}; }
  function dialogs() {
    return [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText.slice(0, 500));
  }
  // The notebook as JupyterLab holds it now (nbformat JSON, outputs included): what a save would write.
  function notebookJSON(path) { return panel(path).context.model.toJSON(); }
  // Run `code` in the notebook's kernel without touching its cells or execution count; what it printed.
  async function kernelPrint(path, code) {
    let text = '';
    const future = kernel(path).requestExecute({code, silent: false, store_history: false});
    future.onIOPub = msg => {
      if (msg.header.msg_type === 'stream') text += msg.content.text;
      if (msg.header.msg_type === 'error') text += `${msg.content.ename}: ${msg.content.evalue}`;
    };
    await future.done;
    return text;
  }
  return {kernelIdle, watchKernel, busyCount, pendingCount, settled, command, runState, allCleared, runDone,
          modelErrors, widgetRender, problems, discover, snapshot, changed, beforeMove, afterMove, dialogs,
          notebookJSON, kernelPrint};
})();
