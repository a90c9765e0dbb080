/* The console's transaction graph: draws the neighbourhood the page embedded (#graph-data)
   with cytoscape and grows it through GET /v1/graph when a node is expanded. Listed and
   tagged nodes differ by shape AND by a text label, never by colour alone; edges carry
   their amounts. Text goes through cytoscape labels and textContent only (never HTML). */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  ready(function () {
    var box = document.getElementById("graph");
    var dataTag = document.getElementById("graph-data");
    if (!box || !dataTag || typeof window.cytoscape === "undefined") return;
    var first = JSON.parse(dataTag.textContent);
    var text = JSON.parse(document.getElementById("graph-text").textContent);
    var chain = first.chain;
    var center = first.center;
    var statusLine = document.getElementById("graph-status");
    var selected = null;

    function fmt(template, values) {
      return template.replace(/%\((\w+)\)s/g, function (_, k) { return String(values[k]); });
    }

    function nodeText(n) {
      var lines = [];
      if (n.listed) lines.push("\u25A0 " + text.listed);
      if (n.tagged) lines.push("\u25C6 " + text.tagged + (n.tags.length ? ": " + n.tags[0].label : ""));
      lines.push(n.label);
      return lines.join("\n");
    }

    var cy = window.cytoscape({
      container: box,
      elements: [],
      wheelSensitivity: 0.3,
      style: [
        { selector: "node", style: {
          "label": "data(display)", "text-wrap": "wrap", "text-valign": "bottom",
          "text-margin-y": 4, "font-size": 10, "shape": "ellipse", "width": 28, "height": 28,
          "background-color": "#dfe7f1", "border-width": 1, "border-color": "#5b6470" } },
        { selector: "node[kind = 'tx']", style: {
          "shape": "round-rectangle", "width": 40, "height": 22, "background-color": "#eef1f6" } },
        { selector: "node[?tagged]", style: {
          "shape": "diamond", "width": 34, "height": 34, "border-width": 3,
          "border-color": "#8a5a00", "background-color": "#fff3d6" } },
        { selector: "node[?listed]", style: {
          "shape": "octagon", "width": 38, "height": 38, "border-width": 5,
          "border-color": "#b42318", "background-color": "#fde8e6", "font-weight": "bold" } },
        { selector: "node[kind = 'more']", style: {
          "shape": "round-rectangle", "border-style": "dashed", "width": 60, "height": 20,
          "background-color": "#ffffff", "text-valign": "center", "text-margin-y": 0 } },
        { selector: "node:selected", style: {
          "overlay-color": "#f2b600", "overlay-opacity": 0.35, "overlay-padding": 6 } },
        { selector: "edge", style: {
          "curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.5,
          "line-color": "#8c959f", "target-arrow-color": "#8c959f",
          "label": "data(amount_text)", "font-size": 8, "text-rotation": "autorotate",
          "text-background-color": "#ffffff", "text-background-opacity": 1,
          "text-background-padding": 1 } },
        { selector: "edge[kind = 'cluster']", style: {
          "line-style": "dashed", "target-arrow-shape": "none", "label": text.cluster } },
        { selector: "edge[kind = 'more']", style: {
          "line-style": "dotted", "target-arrow-shape": "none", "label": "" } }
      ]
    });

    function addNode(n) {
      if (cy.getElementById(n.id).nonempty()) return false;
      var d = Object.assign({}, n, { display: nodeText(n) });
      cy.add({ group: "nodes", data: d });
      addRow(n);
      return true;
    }

    function addRow(n) {
      var body = document.querySelector("#node-table tbody");
      if (!body || body.querySelector('tr[data-node="' + CSS.escape(n.id) + '"]')) return;
      var tr = document.createElement("tr");
      tr.dataset.node = n.id;
      var kind = document.createElement("td");
      kind.textContent = n.kind === "tx" ? text.tx : text.address;
      var name = document.createElement("td");
      name.className = "mono";
      name.textContent = n.address || n.txid || n.label;
      var marks = document.createElement("td");
      var strong = [];
      if (n.listed) strong.push("[" + text.listed + "]");
      if (n.tagged) strong.push("[" + text.tagged + "]");
      marks.textContent = strong.join(" ");
      var info = document.createElement("td");
      info.textContent = n.lists.map(function (h) { return h.caption + " (" + h.source + ")"; })
        .concat(n.tags.map(function (t) { return t.label + " [" + t.category + "]"; })).join("; ");
      var act = document.createElement("td");
      if (n.address || n.txid) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = text.select;
        b.addEventListener("click", function () { select(cy.getElementById(n.id)); });
        act.appendChild(b);
      }
      [kind, name, marks, info, act].forEach(function (td) { tr.appendChild(td); });
      body.appendChild(tr);
    }

    function merge(answer) {
      var added = 0;
      answer.nodes.forEach(function (n) { if (addNode(n)) added += 1; });
      answer.edges.forEach(function (e) {
        if (cy.getElementById(e.id).nonempty()) return;
        cy.add({ group: "edges", data: Object.assign({}, e) });
      });
      answer.more.forEach(function (m) {
        var id = "more:" + m.node + ":" + m.expand;
        cy.remove(cy.getElementById(id));
        if (!m.count || !m.next_offset) return;
        cy.add({ group: "nodes", data: {
          id: id, kind: "more", of: m.node, expand: m.expand, offset: m.next_offset,
          display: fmt(text.more, { count: m.count }) + (m.amount_text ? "\n" + m.amount_text : "")
        } });
        cy.add({ group: "edges", data: { id: id + ":edge", source: m.node, target: id, kind: "more" } });
        added += 1;
      });
      return added;
    }

    function relayout() {
      cy.layout({ name: "breadthfirst", roots: cy.getElementById(center), directed: false,
                  spacingFactor: 1.1, avoidOverlap: true, nodeDimensionsIncludeLabels: true,
                  animate: false, fit: true, padding: 20 }).run();
      if (cy.zoom() < 0.6) {  // keep labels readable; pan and zoom for the rest
        cy.zoom(0.6);
        cy.center(selected && selected.nonempty() ? selected : cy.getElementById(center));
      }
    }

    function say(message) { if (statusLine) statusLine.textContent = message; }

    function query(node, mode, offset) {
      var d = node.data();
      var params = new URLSearchParams({ chain: chain, expand: mode, offset: String(offset || 0) });
      if (d.kind === "tx") params.set("tx", d.txid);
      else params.set("address", d.address);
      return "/v1/graph?" + params.toString();
    }

    function expand(node, mode, offset) {
      say(text.loading);
      fetch(query(node, mode, offset), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.json().then(function (body) {
            var detail = body && body.detail;
            if (!r.ok) throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail || r.status));
            return body;
          });
        })
        .then(function (answer) {
          var added = merge(answer);
          relayout();
          say(added ? fmt(text.added, { n: added }) : text.nothing);
          (answer.notes || []).forEach(function (note) { say(note); });
        })
        .catch(function (err) { say(text.failed + ": " + err.message); });
    }

    var buttons = document.querySelectorAll("#node-panel [data-expand]");
    var openLink = document.getElementById("node-open");

    function select(node) {
      if (!node || node.empty()) return;
      var d = node.data();
      if (d.kind === "more") {  // a summary: load the next page of what it stands for
        expand(cy.getElementById(d.of), d.expand, d.offset);
        return;
      }
      selected = node;
      cy.elements().unselect();
      node.select();
      document.getElementById("node-name").textContent = (d.address || d.txid || d.label);
      var marks = [];
      if (d.listed) marks.push("[" + text.listed + "] " + d.lists.map(function (h) { return h.caption; }).join("; "));
      if (d.tagged) marks.push("[" + text.tagged + "] " + d.tags.map(function (t) { return t.label; }).join("; "));
      document.getElementById("node-marks").textContent = marks.join(" \u2014 ");
      var expandable = Boolean(d.address || d.txid);
      buttons.forEach(function (b) {
        b.disabled = !expandable || (b.dataset.expand === "cluster" && d.kind === "tx");
      });
      if (openLink) {
        openLink.hidden = !expandable;
        openLink.href = "/graph?" + (d.kind === "tx" ? "tx=" + encodeURIComponent(d.txid)
          : "address=" + encodeURIComponent(d.address)) + "&chain=" + encodeURIComponent(chain);
      }
    }

    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        if (selected) expand(selected, b.dataset.expand, 0);
      });
    });
    document.querySelectorAll("button.select-node").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { select(cy.getElementById(b.dataset.node)); });
    });
    cy.on("tap", "node", function (ev) { select(ev.target); });

    merge(first);
    relayout();
    select(cy.getElementById(center));
  });
}());
