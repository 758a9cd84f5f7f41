// Small SVG charts of our own (no build step, no library): a trend (line or bars), a bar chart and a
// weekday x hour heat map. Every chart is an <svg role="img"> with an aria-label saying what it shows,
// followed by the same numbers as a table (the text alternative, shown with a toggle), and drawn in
// colours with at least 3:1 contrast against white (WCAG 1.4.11) and text at 4.5:1 or more.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
export const INK = "#1d4f7a"; // 8.6:1 on white
export const TEXT = "#3b3f45"; // 10:1 on white
const GRID = "#8a9099"; // 3.2:1 on white
// Heat map: white through to the ink, each step at least 3:1 apart from the empty cell's border
const HEAT = ["#ffffff", "#c9dcef", "#8fb6dc", "#4f86bd", "#1d4f7a", "#0c2c47"];

function el(name, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const child of children) node.append(child);
  return node;
}

function frame(label, width, height) {
  return el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart-svg", focusable: "false" });
}

function niceMax(max) {
  if (max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return Math.ceil(max / step) * step;
}

/** A chart and its table: `figure` with the svg, a caption, and a <details> holding the table. */
function withTable(svg, caption, headings, rows, tableLabel, testid) {
  const table = h("table", { class: "chart-table" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...headings.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((x, i) => (i === 0 ? h("th", { scope: "row" }, x) : h("td", {}, x)))))));
  return h("figure", { class: "chart", "data-testid": testid },
    h("figcaption", { class: "chart-caption" }, caption),
    svg,
    h("details", { class: "chart-alt" }, h("summary", {}, tableLabel), table));
}

/** A trend: one value per period, as a line (many points) or bars (few). points: [{label, value}]. */
export function trendChart({ caption, label, points, headings, tableLabel, format = String, testid }) {
  const W = 640, H = 220, L = 48, B = 36, T = 12, R = 12;
  const svg = frame(label, W, H);
  const max = niceMax(Math.max(0, ...points.map((p) => p.value ?? 0)));
  const x = (i) => L + (points.length <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + (H - T - B) * (1 - (v ?? 0) / max);
  for (const v of [0, max / 2, max]) {
    svg.append(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: GRID, "stroke-width": 1 }));
    svg.append(el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", fill: TEXT, "font-size": 11 }, format(v)));
  }
  if (points.length > 0 && points.length <= 14) {
    const bw = Math.max(4, ((W - L - R) / points.length) * 0.6);
    points.forEach((p, i) => {
      const cx = L + ((i + 0.5) * (W - L - R)) / points.length;
      svg.append(el("rect", { x: cx - bw / 2, y: y(p.value), width: bw, height: Math.max(0, H - B - y(p.value)), fill: INK }));
      svg.append(el("text", { x: cx, y: H - B + 14, "text-anchor": "middle", fill: TEXT, "font-size": 10 }, p.label));
    });
  } else if (points.length > 0) {
    const d = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join("");
    svg.append(el("path", { d, fill: "none", stroke: INK, "stroke-width": 2 }));
    for (const i of [0, points.length - 1]) {
      svg.append(el("text", { x: x(i), y: H - B + 14, "text-anchor": i ? "end" : "start", fill: TEXT, "font-size": 10 }, points[i].label));
    }
  }
  const rows = points.map((p) => [p.label, p.value === null || p.value === undefined ? "–" : format(p.value)]);
  return withTable(svg, caption, headings, rows, tableLabel, testid);
}

/** Horizontal bars: [{label, values: [a, b]}] with two series (calendar and business time, say). */
export function barChart({ caption, label, bars, series, headings, tableLabel, format = String, testid }) {
  const W = 640, rowH = 34, L = 64, R = 80;
  const H = bars.length * rowH + 28;
  const svg = frame(label, W, H);
  const max = niceMax(Math.max(0, ...bars.flatMap((b) => b.values.map((v) => v ?? 0))));
  const fills = [INK, "#b45309"]; // the second: amber, 4.9:1 on white
  bars.forEach((b, i) => {
    const top = 8 + i * rowH;
    svg.append(el("text", { x: L - 8, y: top + 16, "text-anchor": "end", fill: TEXT, "font-size": 12 }, b.label));
    b.values.forEach((v, j) => {
      const w = ((W - L - R) * (v ?? 0)) / max;
      svg.append(el("rect", { x: L, y: top + j * 13, width: Math.max(1, w), height: 11, fill: fills[j % 2] }));
      svg.append(el("text", { x: L + w + 6, y: top + j * 13 + 10, fill: TEXT, "font-size": 10 }, v === null ? "–" : format(v)));
    });
  });
  series.forEach((s, j) => {
    svg.append(el("rect", { x: L + j * 160, y: H - 14, width: 10, height: 10, fill: fills[j % 2] }));
    svg.append(el("text", { x: L + j * 160 + 14, y: H - 5, fill: TEXT, "font-size": 11 }, s));
  });
  const rows = bars.map((b) => [b.label, ...b.values.map((v) => (v === null || v === undefined ? "–" : format(v)))]);
  return withTable(svg, caption, headings, rows, tableLabel, testid);
}

/** A weekday x hour heat map. cells: [{weekday 0-6 (Monday first), hour 0-23, value}]. */
export function heatMap({ caption, label, cells, dayNames, headings, tableLabel, testid }) {
  const W = 640, L = 40, T = 18, cw = (W - L - 4) / 24, ch = 22;
  const H = T + 7 * ch + 4;
  const svg = frame(label, W, H);
  const grid = Array.from({ length: 7 }, () => new Array(24).fill(0));
  for (const c of cells) grid[c.weekday][c.hour] += c.value;
  const max = Math.max(0, ...grid.flat());
  for (let hr = 0; hr < 24; hr += 3) {
    svg.append(el("text", { x: L + hr * cw + cw / 2, y: 12, "text-anchor": "middle", fill: TEXT, "font-size": 10 }, String(hr)));
  }
  grid.forEach((row, d) => {
    svg.append(el("text", { x: L - 6, y: T + d * ch + 15, "text-anchor": "end", fill: TEXT, "font-size": 11 }, dayNames[d]));
    row.forEach((v, hr) => {
      const step = v === 0 || max === 0 ? 0 : 1 + Math.min(HEAT.length - 2, Math.floor(((v / max) * (HEAT.length - 1)) - 1e-9));
      svg.append(el("rect", { x: L + hr * cw + 1, y: T + d * ch + 1, width: cw - 2, height: ch - 2, fill: HEAT[step], stroke: GRID, "stroke-width": 0.5 }));
    });
  });
  const rows = grid.map((row, d) => [dayNames[d], ...row.map(String)]);
  return withTable(svg, caption, headings, rows, tableLabel, testid);
}
