#!/usr/bin/env python3
# Draws docs/architecture.svg (run from the repository root: python3 scripts/architecture-svg.py).
# Writes docs/architecture.svg: how a buffer flows through base class, element and core.
W,H=1180,610
out=[]
def box(x,y,w,h,fill,lines):
    out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{fill}" stroke="#333" stroke-width="1.2"/>')
    n=len(lines)
    for i,l in enumerate(lines):
        ty=y+h/2+(i-(n-1)/2)*16+5
        weight=' font-weight="bold"' if i==0 else ''
        out.append(f'<text x="{x+w/2}" y="{ty:.0f}" text-anchor="middle"{weight}>{l}</text>')
def arrow(x1,y1,x2,y2,label=None):
    out.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="1.5" marker-end="url(#a)"/>')
    if label:
        out.append(f'<text x="{(x1+x2)/2}" y="{(y1+y2)/2-8}" text-anchor="middle" font-size="11" fill="#444">{label}</text>')
def note(x,y,lines,anchor="start"):
    for i,l in enumerate(lines):
        out.append(f'<text x="{x}" y="{y+i*14}" text-anchor="{anchor}" font-size="11" fill="#444">{l}</text>')
BASE="#d6e6f7"; ELEM="#dcf0d6"; CORE="#fbe3c8"; PEER="#eeeeee"
X=[20,180,410,690,960]; WD=[120,190,190,230,200]
def row(y,title,cells,label,core,core_note,base_note):
    out.append(f'<text x="20" y="{y-30}" font-size="18" font-weight="bold">{title}</text>')
    fills=[PEER,BASE,ELEM,BASE,PEER]
    for i in range(5):
        box(X[i],y,WD[i],90,fills[i],cells[i])
    for i in range(4):
        arrow(X[i]+WD[i],y+45,X[i+1],y+45,label if i==2 else None)
    box(X[2],y+125,WD[2],85,CORE,core)
    arrow(X[2]+80,y+90,X[2]+80,y+125)
    arrow(X[2]+110,y+125,X[2]+110,y+90)
    note(X[2]+WD[2]+12,y+150,core_note)
    if base_note: note(X[1]+WD[1]/2,y+112,base_note,"middle")
row(70,"Payloader: one input buffer in, one buffer list of RTP packets out",
    [["encoder","x264enc,","avenc_g722"],["RtpBasePay2 sink pad","caps, segment, EOS,","flush, force-key-unit"],
     ["element imp.rs","handle_buffer():","caps, properties"],["RtpBasePay2 finish","header memory from the pool,","SIMD header batch, extensions"],
     ["src pad: buffer list","header memory + input","memory (no copy)"]],
    "queue_packet",["rtp2-core","nalpack / h264 / h265,","audio framing: payload plan"],["NAL units or frames in,","packet layouts out"],None)
row(370,"Depayloader: RTP packets in, frames or NAL units out",
    [["udpsrc,","rtpjitterbuffer,","webrtcbin"],["RtpBaseDepay2 chain","SIMD header parse, checks,","seqnum and RTP time unwrap"],
     ["element imp.rs","handle_packet():","IncomingPacket"],["RtpBaseDepay2 push_output","PTS from RTP time, DISCONT,","metas, stats"],
     ["src pad","access units or NAL units","(shared memory when whole)"]],
    "push_output",["rtp2-core","FU reassembly (fragments),","aggregates, DON order"],["payloads in, NAL units out;","bounded buffers"],["invalid, late, duplicate:","dropped, counted, warned"])
ly=585
for i,(c,t) in enumerate([(BASE,"base class (src/base/pay, src/base/depay)"),(ELEM,"codec element glue (src/&lt;codec&gt;/pay|depay)"),(CORE,"sans-IO core (rtp2-core, no GStreamer types)"),(PEER,"other elements")]):
    x=[20,300,620,940][i]
    out.append(f'<rect x="{x}" y="{ly}" width="18" height="14" fill="{c}" stroke="#333"/>')
    out.append(f'<text x="{x+24}" y="{ly+12}" font-size="12">{t}</text>')
svg=f'''<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<title>How a buffer flows through base class, element and core in gst-plugin-rtp2</title>
<defs><marker id="a" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker></defs>
<rect width="{W}" height="{H}" fill="white"/>
'''+"\n".join(out)+"\n</svg>\n"
open('docs/architecture.svg','w').write(svg)
