"""Where an ELF object's segments, dynamic table and symbol tables lie: what the scan's
read-only-segment rule reads, and why the dynamic-symbol rule cannot stop a deflated read
sooner (docs/performance.md). Needs readelf.

    python3 benches/elf_layout.py path/to/*.so
"""
import sys, struct, subprocess, zipfile
def info(path):
    d=open(path,'rb').read()
    if d[:4]!=b'\x7fELF': return None
    phoff=struct.unpack_from('<Q',d,0x20)[0]; phentsize,phnum=struct.unpack_from('<HH',d,0x36)
    loads=[];dyn=None
    for i in range(phnum):
        p_type,p_flags,p_offset,p_vaddr,p_paddr,p_filesz,p_memsz,p_align=struct.unpack_from('<IIQQQQQQ',d,phoff+i*phentsize)
        if p_type==1: loads.append((p_offset,p_filesz,p_flags,p_vaddr))
        if p_type==2: dyn=(p_offset,p_filesz)
    last_ro=max((o+s for o,s,f,v in loads if not f&2),default=len(d))
    # dynamic entries
    strtab=symtab=strsz=None
    if dyn:
        for j in range(0,dyn[1],16):
            tag,val=struct.unpack_from('<qQ',d,dyn[0]+j)
            if tag==5: strtab=val
            if tag==6: symtab=val
            if tag==10: strsz=val
    def off(v):
        for o,s,f,va in loads:
            if va<=v<va+s: return v-va+o
    so=off(strtab) if strtab is not None else None
    out=subprocess.run(['readelf','--dyn-syms','-W',path],capture_output=True,text=True).stdout
    py=sum(1 for l in out.splitlines() if ' UND ' in l and (l.split()[-1].startswith('Py') or l.split()[-1].startswith('_Py')))
    return dict(size=len(d), phoff=phoff, dyn=dyn[0] if dyn else None, dynstr_end=(so+strsz) if so is not None else None, last_ro=last_ro, py_imports=py)
for p in sys.argv[1:]:
    i=info(p)
    if i: print(p, i)
