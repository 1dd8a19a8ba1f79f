package htmlreport

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
)

// script is the page's only script, inline. It records any error the page
// raises (a script error, a blocked resource, a Content-Security-Policy
// violation) in the data-errors attribute of <html>, so that a headless
// browser's DOM dump shows them, and makes the connection table sortable by
// clicking a column header. data-ready="1" on <html> says it ran.
const script = `(function(){
var root=document.documentElement;
function note(msg){root.setAttribute("data-errors",(root.getAttribute("data-errors")||"")+msg+"\n");}
window.addEventListener("error",function(e){note(e.message||("failed to load "+((e.target&&(e.target.src||e.target.href))||"a resource")));},true);
window.addEventListener("securitypolicyviolation",function(e){note("blocked by the page's policy: "+e.blockedURI+" ("+e.violatedDirective+")");});
function key(td){var v=td.getAttribute("data-v");if(v===null){v=td.textContent;}var n=parseFloat(v);return isNaN(n)||String(n)!==v.trim()?v.toLowerCase():n;}
function sortBy(table,col,th){var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
var asc=th.getAttribute("aria-sort")!=="ascending";
Array.prototype.forEach.call(th.parentNode.cells,function(c){c.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",asc?"ascending":"descending");
rows.sort(function(a,b){var x=key(a.cells[col]),y=key(b.cells[col]);if(typeof x!==typeof y){x=String(x);y=String(y);}return (x<y?-1:x>y?1:0)*(asc?1:-1);});
rows.forEach(function(r){body.appendChild(r);});}
document.addEventListener("DOMContentLoaded",function(){
Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),function(table){
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){th.tabIndex=0;
th.addEventListener("click",function(){sortBy(table,i,th);});
th.addEventListener("keydown",function(e){if(e.key==="Enter"){sortBy(table,i,th);}});});});
root.setAttribute("data-ready","1");});
})();`

// policy is the page's Content-Security-Policy: nothing may be fetched,
// and only the script above, by its hash, may run — so a string from the
// capture that escaped escaping still could not execute.
var policy = func() string {
	sum := sha256.Sum256([]byte(script))
	return "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

const style = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1f24;background:#fff;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:0 0 4px}.meta{color:#57606a}.mono,td.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
.finding{border:1px solid #d0d7de;border-left:5px solid #8c959f;border-radius:6px;padding:10px 14px;margin:12px 0}
.sev-error{border-left-color:#cf222e}.sev-warning{border-left-color:#d4a72c}.sev-notice{border-left-color:#0969da}
.badge{display:inline-block;font-size:11px;font-weight:600;text-transform:uppercase;padding:1px 6px;border-radius:10px;background:#eaeef2;margin-right:6px}
.sev-error .badge{background:#ffebe9;color:#a40e26}.sev-warning .badge{background:#fff8c5;color:#7d4e00}.sev-notice .badge{background:#ddf4ff;color:#0550ae}
.msg{margin:4px 0}.graphs{margin-top:8px}figure{margin:8px 0}figcaption{font-size:12px;color:#57606a}
table{border-collapse:collapse;font-size:12.5px;width:100%}th,td{border-bottom:1px solid #eaeef2;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa;cursor:pointer;user-select:none;white-space:nowrap}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
svg.graph{max-width:100%;height:auto;background:#fff;font:11px system-ui,sans-serif}
svg .frame{fill:none;stroke:#8c959f}svg .grid{stroke:#eaeef2}svg .tick{fill:#57606a}svg .axis{fill:#1b1f24;font-size:12px}
svg .legend text{fill:#1b1f24}svg path{fill:none}
svg .data{stroke:#0969da;stroke-width:1.6}svg .resent{stroke:#cf222e;stroke-width:2.6}svg .gap{fill:#fb8500;stroke:#fb8500}
svg .ack{stroke:#1a7f37;stroke-width:1.2}svg .win{stroke:#8250df;stroke-width:1;stroke-dasharray:4 3}svg .sack{stroke:#00a3a3;stroke-width:4;opacity:.55}
svg .ctl{fill:#1b1f24;stroke:#1b1f24}svg .rtt0{fill:#0969da;stroke:#0969da}svg .rtt1{fill:#bc4c00;stroke:#bc4c00}
svg .hs{stroke:#57606a;stroke-dasharray:5 4}svg .tp0{stroke:#0969da;stroke-width:1.6}svg .tp1{stroke:#bc4c00;stroke-width:1.6}
svg .net{fill:#d4a72c;stroke:#d4a72c}svg .srv{fill:#8250df;stroke:#8250df}
`

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.Policy}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<script>` + script + `</script>
<style>` + style + `</style>
</head><body>
<h1>{{.Title}}</h1>
<p class="meta">{{.Summary}}</p>
{{- if .Truncated}}<p class="meta"><strong>Capture damaged:</strong> {{.Truncated}} (everything before it was analysed)</p>{{end}}
{{- if .Profile}}<p class="meta">{{.Profile}}</p>{{end}}
{{- if .Decryption}}<p class="meta" id="decryption">{{.Decryption}}</p>{{end}}
<h2 id="findings">Findings — most serious first</h2>
{{- if not .Findings}}<p>Nothing wrong found.</p>{{end}}
{{- range .Findings}}
<section class="finding sev-{{.Severity}}" id="{{.Anchor}}">
<h3><span class="badge">{{.Severity}}</span><span class="mono">{{.Kind}}</span> · {{.Count}}× · {{.Where}}</h3>
<p class="msg">{{.Message}}</p>
<p class="meta">first at frame {{.Frame}}{{if .Flow}} on <span class="mono">{{.Flow}}</span>{{end}}{{if .Frames}} · also at frames {{.Frames}}{{end}}{{if .Folded}} · {{.Folded}} not listed one by one{{end}}</p>
{{- if .Variants}}<p class="meta">by kind: {{.Variants}}</p>{{end}}
{{- if .Evidence}}<p class="meta mono">{{.Evidence}}</p>{{end}}
{{- with .Graphs}}
<div class="graphs" id="conn-{{.ID}}">
<p class="meta">Connection #{{.ID}} <span class="mono">{{.Flow}}</span>{{if .Protocol}} ({{.Protocol}}){{end}}{{if .Note}} · {{.Note}}{{end}}</p>
{{- range .Figures}}
<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{- end}}
</div>
{{- end}}
{{- if .SeeConn}}<p class="meta">Graphs: see <a href="#conn-{{.SeeConnID}}">connection #{{.SeeConnID}}</a> above.</p>{{end}}
{{- if .NoGraph}}<p class="meta">{{.NoGraph}}</p>{{end}}
</section>
{{- end}}
{{- if .Info}}<p class="meta">Info: {{.Info}}</p>{{end}}
<h2 id="connections">TCP connections</h2>
{{- if .Conns}}
<p class="meta">Click a column header to sort. Bytes are TCP payload (each byte once, retransmissions excluded), not bytes on the wire.</p>
<table class="sortable" id="conn-table"><thead><tr>
<th>#</th><th>client</th><th>server</th><th>protocol</th><th>first frame</th><th>last frame</th><th>packets →</th><th>packets ←</th><th>payload bytes →</th><th>payload bytes ←</th><th>handshake RTT (ms)</th><th>end</th><th>findings</th>
</tr></thead><tbody>
{{- range .Conns}}
<tr><td class="num">{{.ID}}</td><td class="mono">{{.Client}}</td><td class="mono">{{.Server}}</td><td>{{.Protocol}}</td><td class="num">{{.First}}</td><td class="num">{{.Last}}</td><td class="num">{{.PktOut}}</td><td class="num">{{.PktIn}}</td><td class="num">{{.BytesOut}}</td><td class="num">{{.BytesIn}}</td><td class="num" data-v="{{.RTTValue}}">{{.RTT}}</td><td>{{.End}}</td><td data-v="{{.Problems}}">{{.Findings}}</td></tr>
{{- end}}
</tbody></table>
{{- if .ConnsHidden}}<p class="meta">… {{.ConnsHidden}} more connections not listed.</p>{{end}}
{{- else}}<p>No TCP connection.</p>{{end}}
<p class="meta">nettrace · self-contained report: no script, font or image is fetched.</p>
</body></html>
`))
