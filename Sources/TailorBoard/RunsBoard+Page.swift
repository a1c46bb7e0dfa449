extension RunsBoard {
    /// The board page: the runs table and one chart of a chosen series with every run's curve, drawn as
    /// inline SVG by the page's own script from <its path>/api/runs, polled every two seconds. Nothing is loaded
    /// from elsewhere.
    static let page = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>tailor board</title>
    <style>
      body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; }
      h1 { font-size: 18px; margin: 0 0 8px; }
      #status { color: #666; margin-bottom: 8px; }
      table { border-collapse: collapse; margin-bottom: 16px; }
      th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
      th:first-child, td:first-child { text-align: left; }
      tr.running td { background: #f3f8ff; }
      #chart { border: 1px solid #ddd; }
      .legend span { display: inline-block; margin-right: 14px; }
      .legend i { display: inline-block; width: 12px; height: 3px; margin-right: 4px; vertical-align: middle; }
    </style>
    </head>
    <body>
    <h1>tailor board</h1>
    <div id="status">loading…</div>
    <table id="runs"></table>
    <label>series <select id="metric"></select></label>
    <div class="legend" id="legend"></div>
    <svg id="chart" width="900" height="420" xmlns="http://www.w3.org/2000/svg"></svg>
    <script>
    const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
    let data = null, chosen = "loss";
    function text(tag, attrs, content) {
      const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
      for (const k in attrs) node.setAttribute(k, attrs[k]);
      if (content !== undefined) node.textContent = content;
      return node;
    }
    function renderTable() {
      const table = document.getElementById("runs");
      table.innerHTML = "";
      const head = table.insertRow();
      for (const cell of data.header) { const th = document.createElement("th"); th.textContent = cell; head.appendChild(th); }
      const statusColumn = data.header.indexOf("status");
      for (const row of data.rows) {
        const tr = table.insertRow();
        if (row[statusColumn] === "running") tr.className = "running";
        for (const cell of row) tr.insertCell().textContent = cell;
      }
    }
    function renderChoices() {
      const select = document.getElementById("metric");
      const names = [...new Set(data.series.flatMap(s => Object.keys(s)))].sort();
      if (!names.includes(chosen) && names.length) chosen = names.includes("loss") ? "loss" : names[0];
      if (select.options.length !== names.length || [...select.options].some((o, i) => o.value !== names[i])) {
        select.innerHTML = "";
        for (const name of names) select.add(new Option(name, name));
      }
      select.value = chosen;
    }
    function renderChart() {
      const svg = document.getElementById("chart");
      svg.innerHTML = "";
      const W = 900, H = 420, L = 70, R = 20, T = 20, B = 40;
      const lines = data.series.map(s => s[chosen] || []);
      const points = lines.flat();
      const legend = document.getElementById("legend");
      legend.innerHTML = "";
      data.labels.forEach((label, i) => {
        const span = document.createElement("span");
        span.innerHTML = '<i style="background:' + colors[i % colors.length] + '"></i>';
        span.appendChild(document.createTextNode(label));
        legend.appendChild(span);
      });
      if (!points.length) { svg.appendChild(text("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, "no " + chosen + " yet")); return; }
      const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
      let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
      if (x1 === x0) x1 = x0 + 1;
      if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
      const px = x => L + (x - x0) / (x1 - x0) * (W - L - R), py = y => H - B - (y - y0) / (y1 - y0) * (H - T - B);
      svg.appendChild(text("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#999"}));
      for (let k = 0; k <= 4; k++) {
        const y = y0 + (y1 - y0) * k / 4, x = x0 + (x1 - x0) * k / 4;
        svg.appendChild(text("text", {x: L - 6, y: py(y) + 4, "text-anchor": "end", "font-size": 11}, y.toPrecision(4)));
        svg.appendChild(text("text", {x: px(x), y: H - B + 16, "text-anchor": "middle", "font-size": 11}, Math.round(x)));
      }
      svg.appendChild(text("text", {x: (W + L) / 2, y: H - 6, "text-anchor": "middle"}, "step"));
      lines.forEach((line, i) => {
        if (!line.length) return;
        const color = colors[i % colors.length];
        svg.appendChild(text("polyline", {class: "run", "data-run": data.labels[i], fill: "none", stroke: color, "stroke-width": 2,
          points: line.map(p => px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1)).join(" ")}));
      });
    }
    async function refresh() {
      try {
        const response = await fetch(location.pathname.replace(/\/$/, "") + "/api/runs", {cache: "no-store"});
        data = await response.json();
        if (data.error) throw new Error(data.error);
        renderTable(); renderChoices(); renderChart();
        document.getElementById("status").textContent = data.rows.length + " runs, updated " + new Date().toLocaleTimeString();
      } catch (error) {
        document.getElementById("status").textContent = "cannot read the runs: " + error.message;
      }
    }
    document.getElementById("metric").addEventListener("change", e => { chosen = e.target.value; renderChart(); });
    refresh();
    setInterval(refresh, 2000);
    </script>
    </body>
    </html>
    """#
}
