"""Generate ``src/scalebridge/cell/_kernels.py``: unrolled voxel Q1 element kernels.

The bilinear/trilinear element on a voxel has an exactly integrable gradient: on
each element, with centred coordinates ``s_l`` in [-1/2, 1/2], the derivative
``d u / d x_j`` is a polynomial in the monomials ``prod_{l in S} s_l`` with
``j not in S``.  These monomials are orthogonal, so the exact (2-point Gauss)
element energy is ``sum_S w_S  g_S : L : g_S`` with ``w_S = 12**-|S|``.  The
kernels below evaluate this "modal" form, which needs about a third of the
flops of a dense element-matrix product, fully unrolled and vectorised along
the last grid axis.  The apply kernels go further: the nodal values of an element
are taken to the modal basis by Walsh-Hadamard butterflies (the gradient of mode
``S`` in direction ``j`` is one butterfly output, index ``S + {j}``), and the nodal
forces come back through the transposed butterflies; the element work on a line is
done in chunks of ``KB`` elements through one flat scratch array at constant
offsets (see ``_apply_kernel``), which is what makes LLVM vectorise it.
Run ``python tools/generate_kernels.py`` after editing;
``tests/test_kernels.py`` checks the file is current.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "src" / "scalebridge" / "cell" / "_kernels.py"


def _modes(d: int) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = [()]
    for size in range(1, d):
        out += list(itertools.combinations(range(d), size))
    return out


def _lin(terms: dict[str, float]) -> str:
    parts = []
    for name, coef in terms.items():
        if coef == 0.0:
            continue
        if coef == 1.0:
            parts.append(f"+{name}")
        elif coef == -1.0:
            parts.append(f"-{name}")
        else:
            parts.append(f"+({coef!r})*{name}")
    if not parts:
        return "0.0"
    text = "".join(parts)
    return text[1:] if text.startswith("+") else text


class _Element:
    """Symbolic tables of one voxel element in ``d`` dimensions with ``nc`` components."""

    def __init__(self, d: int, nc: int) -> None:
        self.d, self.nc = d, nc
        self.nodes = list(itertools.product((0, 1), repeat=d))
        self.modes = _modes(d)
        self.weights = [12.0 ** (-len(s)) for s in self.modes]

    def gradient(self, m: int, c: int, j: int) -> dict[str, float] | None:
        """Coefficient of monomial ``modes[m]`` in ``d u_c / d x_j`` (without 1/h_j)."""
        subset = self.modes[m]
        if j in subset:
            return None
        terms: dict[str, float] = {}
        for a, node in enumerate(self.nodes):
            val = (2 * node[j] - 1) * 0.5 ** (self.d - 1 - len(subset))
            for l in subset:
                val *= 2 * node[l] - 1
            terms[f"u{c}_{a}"] = terms.get(f"u{c}_{a}", 0.0) + val
        return terms


def _flux_lines(el: _Element, m: int, physics: str, law: str) -> list[str]:
    """Lines computing the flux ``s{m}_{c}_{j}`` of mode ``m`` from its gradient."""
    d, nc = el.d, el.nc
    avail = [(c, j) for c in range(nc) for j in range(d) if j not in el.modes[m]]
    lines = []
    if law == "general":
        for c, j in avail:
            terms = [f"Lp[{c * d + j}, {e * d + l}]*g{m}_{e}_{l}" for e, l in avail]
            lines.append(f"s{m}_{c}_{j} = " + " + ".join(terms))
        return lines
    if physics == "conduction":
        return [f"s{m}_0_{j} = kk*g{m}_0_{j}" for _, j in avail]
    diag = [f"g{m}_{c}_{c}" for c in range(d) if (c, c) in avail]
    if diag:
        lines.append(f"tr{m} = " + " + ".join(diag))
    for c, j in avail:
        expr = f"mu*(g{m}_{c}_{j} + g{m}_{j}_{c})" if (j, c) in avail else f"mu*g{m}_{c}_{j}"
        if c == j:
            expr = f"la*tr{m} + 2.0*mu*g{m}_{c}_{c}"
        lines.append(f"s{m}_{c}_{j} = {expr}")
    return lines


def _gradient_lines(el: _Element, with_macro: bool) -> list[str]:
    lines = []
    for m in range(len(el.modes)):
        for c in range(el.nc):
            for j in range(el.d):
                terms = el.gradient(m, c, j)
                if terms is None:
                    continue
                expr = f"ih{j}*({_lin(terms)})"
                if m == 0 and with_macro:
                    expr += f" + E[{c}, {j}]"
                lines.append(f"g{m}_{c}_{j} = {expr}")
    return lines


def _params(physics: str, law: str) -> tuple[str, list[str]]:
    if law == "general":
        return "L", ["Lp = L[ph]"]
    if physics == "conduction":
        return "kcoef", ["kk = kcoef[ph]"]
    return "lam, mu_", ["la = lam[ph]", "mu = mu_[ph]"]


def _node_loads(el: _Element) -> list[str]:
    lines = []
    for a, node in enumerate(el.nodes):
        line_idx = int("".join(map(str, node[:-1])) or "0", 2)
        for c in range(el.nc):
            lines.append(f"u{c}_{a} = U[{c}, {line_idx}, k + {node[-1]}]")
    return lines


KB = 64  # k-chunk length of the line buffers
FUSE_MAX = 18  # most buffer accesses (U loads, F stores, coefficients) of a fused loop


def _apply_kernel(d: int, nc: int, physics: str, law: str) -> str:
    """Apply kernel: butterfly (Walsh-Hadamard) nodal->modal transform, flux, transpose, scatter.

    The element work along a line is done in chunks of ``KB`` elements by several short
    loops (nodal->modal per component, flux per mode group, modal->nodal per component,
    scatter per line) whose operands all live in one flat scratch array ``W`` at
    compile-time constant offsets.  Short loops with a bounded trip count and constant
    offsets are what LLVM's loop vectoriser can prove free of memory dependences;
    one fused loop over ~50 buffer lines is not vectorised.
    """
    el = _Element(d, nc)
    pnames, _ = _params(physics, law)
    name = f"apply_{d}d_{physics}_{law}"
    nq = 2 ** (d - 1)
    nn = 2**d
    modes = el.modes
    if law == "general":
        ncoef = 0
    elif physics == "conduction":
        ncoef = 1
    else:
        ncoef = 2
    kb1 = KB + 1
    offU = 0
    offV = offU + nc * nq * kb1
    offR = offV + nc * (nn - 1) * kb1
    offF = offR + nc * (nn - 1) * kb1
    offP = offF + 2 * nc * nq * kb1
    total = offP + ncoef * KB

    def uo(c, q):
        return offU + (c * nq + q) * kb1

    def vo(c, t):
        return offV + (c * (nn - 1) + t - 1) * kb1

    def ro(c, t):
        return offR + (c * (nn - 1) + t - 1) * kb1

    def fo(c, q, off):
        return offF + (2 * (c * nq + q) + off) * kb1

    def bit(l):
        return 1 << (d - 1 - l)

    def tmask(sub):
        return sum(bit(l) for l in sub)

    head = [
        "@njit(parallel=True, fastmath=True, cache=True, error_model='numpy', boundscheck=False)",
        f"def {name}(u, labels, {pnames}, E, ih, out):  # noqa: PLR0915",
        f'    """Accumulate ``B^T L (E + B u)`` into ``out`` ({d}D {physics}, {law} law)."""',
        *[f"    ih{j} = ih[{j}]" for j in range(d)],
        *[f"    E{c}_{j} = E[{c}, {j}]" for c in range(nc) for j in range(d)],
    ]
    if law == "general":
        head.append(f"    Lf = np.ascontiguousarray(L).reshape(L.shape[0], {(nc * d) ** 2})")
    for m, sub in enumerate(modes):
        for j in range(d):
            if j in sub:
                continue
            sc = 0.5 ** (d - 1 - len(sub))
            head.append(f"    ka{m}_{j} = {sc!r}*ih{j}")
            head.append(f"    kb{m}_{j} = {sc * el.weights[m]!r}*ih{j}")
    body = [
        f"nx, nz = labels.shape[0], labels.shape[{d - 1}]",
        "ny = labels.shape[1]" if d == 3 else "ny = 1",
        "nxe = nx - (nx % 2)",
        "for colour in range(3):",
        "    lo = colour if colour < 2 else nxe",
        "    hi = nxe if colour < 2 else nx",
        "    step = 2 if colour < 2 else 1",
        "    for ib in prange((hi - lo + step - 1) // step):",
        "        i = lo + ib * step",
        "        i1 = (i + 1) % nx",
        f"        W = np.empty({total})",
        f"        carry = np.empty({nc * nq})",
        "        for j in range(ny):",
        "            j1 = (j + 1) % ny",
    ]
    ind = " " * 12
    if d == 3:
        srcs = ["i, j", "i, j1", "i1, j", "i1, j1"]
        body.append(ind + "lab = labels[i, j]")
    else:
        srcs = ["i", "i1"]
        body.append(ind + "lab = labels[i]")
    body.append(ind + "carry[:] = 0.0")
    body.append(ind + f"for k0 in range(0, nz, {KB}):")
    ind = " " * 16
    body.append(ind + f"nk = min({KB}, nz - k0)")
    body.append(ind + "kw = (k0 + nk) % nz")
    for c in range(nc):
        for q, s_ in enumerate(srcs):
            o = uo(c, q)
            body.append(ind + f"src = u[{c}, {s_}]")
            body.append(ind + f"W[{o}:{o} + nk] = src[k0:k0 + nk]")
            body.append(ind + f"W[{o} + nk] = src[kw]")
    if ncoef:
        body.append(ind + "for t in range(nk):")
        body.append(ind + "    ph = lab[k0 + t]")
        if physics == "conduction":
            body.append(ind + f"    W[{offP} + t] = kcoef[ph]")
        else:
            body.append(ind + f"    W[{offP} + t] = lam[ph]")
            body.append(ind + f"    W[{offP + KB} + t] = mu_[ph]")

    # Few buffer lines: one fused loop keeps everything in registers.  Many lines: the
    # stages below become separate loops through W (see docstring).
    fused = 2 * nc * nn + ncoef <= FUSE_MAX
    fused_lines: list[str] = []

    def loop(lines):
        if fused:
            fused_lines.extend(lines)
            return
        body.append(ind + "for k in range(nk):")
        body.extend(ind + "    " + ln for ln in lines)

    def vput(c, t, expr):
        return f"v{c}_{t} = {expr}" if fused else f"W[{vo(c, t)} + k] = {expr}"

    def rput(c, t, expr):
        return f"R{c}_{t} = {expr}" if fused else f"W[{ro(c, t)} + k] = {expr}"

    start = len(body)
    # A: nodal -> modal (Walsh-Hadamard butterflies), per component
    for c in range(nc):
        inner = []
        cur = {}
        for a in range(nn):
            q, off = a >> 1, a & 1
            inner.append(f"x{c}_{a} = W[{uo(c, q) + off} + k]")
            cur[a] = f"x{c}_{a}"
        for st, l in enumerate(reversed(range(d))):
            new = {}
            for a in range(nn):
                if a & bit(l):
                    continue
                b = a | bit(l)
                na, nb = f"y{st}_{c}_{a}", f"y{st}_{c}_{b}"
                if st < d - 1 or a:
                    inner.append(f"{na} = {cur[a]} + {cur[b]}")
                inner.append(f"{nb} = {cur[b]} - {cur[a]}")
                new[a], new[b] = na, nb
            cur = new
        for t in range(1, nn):
            inner.append(vput(c, t, cur[t]))
        loop(inner)
    # B: gradient, flux and modal residual, per mode group |S| (in place over v)
    for size in range(d):
        ms = [m for m, sub in enumerate(modes) if len(sub) == size]
        ts = sorted({tmask(modes[m] + (j,)) for m in ms for j in range(d) if j not in modes[m]})
        inner = []
        if fused and size:
            pass
        elif law == "general":
            inner += ["ph = lab[k0 + k]"]
        elif physics == "conduction":
            inner.append(f"kk = W[{offP} + k]")
        else:
            inner += [f"la = W[{offP} + k]", f"mu = W[{offP + KB} + k]"]
        for c in range(nc):
            for t in ts:
                if not fused:
                    inner.append(f"v{c}_{t} = W[{vo(c, t)} + k]")
        for m in ms:
            sub = modes[m]
            for c in range(nc):
                for j in range(d):
                    if j in sub:
                        continue
                    expr = f"ka{m}_{j}*v{c}_{tmask((*sub, j))}"
                    if m == 0:
                        expr += f" + E{c}_{j}"
                    inner.append(f"g{m}_{c}_{j} = {expr}")
            inner += [_flat_lp(ln, nc * d) for ln in _flux_lines(el, m, physics, law)]
        for c in range(nc):
            rs: dict[int, list[str]] = {}
            for m in ms:
                sub = modes[m]
                for j in range(d):
                    if j not in sub:
                        rs.setdefault(tmask((*sub, j)), []).append(f"kb{m}_{j}*s{m}_{c}_{j}")
            for t in ts:
                inner.append(rput(c, t, " + ".join(rs[t])))
        loop(inner)
    # C: modal -> nodal (transposed butterflies), per component; F_hi stored one slot on
    for c in range(nc):
        inner = []
        cur = {0: None}
        for t in range(1, nn):
            if not fused:
                inner.append(f"R{c}_{t} = W[{ro(c, t)} + k]")
            cur[t] = f"R{c}_{t}"
        for st, l in enumerate(range(d)):
            new = {}
            for a in range(nn):
                if a & bit(l):
                    continue
                b = a | bit(l)
                xa, xb = cur[a], cur[b]
                na, nb = f"z{st}_{c}_{a}", f"z{st}_{c}_{b}"
                if xa is None and xb is None:
                    new[a] = new[b] = None
                elif xa is None:
                    inner.append(f"{na} = -{xb}")
                    new[a], new[b] = na, xb
                elif xb is None:
                    new[a], new[b] = xa, xa
                else:
                    inner.append(f"{na} = {xa} - {xb}")
                    inner.append(f"{nb} = {xa} + {xb}")
                    new[a], new[b] = na, nb
            cur = new
        for a in range(nn):
            q, off = a >> 1, a & 1
            inner.append(f"W[{fo(c, q, off) + off} + k] = {cur[a]}")
        loop(inner)
    if fused:
        fused = False
        loop(fused_lines)
    if law == "general":
        # a chunk of one phase takes the law as scalars (vectorised loops); a mixed
        # chunk gathers it per element (scalar loops)
        seg = body[start:]
        del body[start:]
        ncf = (nc * d) ** 2
        body.append(ind + "ph0 = lab[k0]")
        body.append(ind + "uni = True")
        body.append(ind + "for t in range(nk):")
        body.append(ind + "    if lab[k0 + t] != ph0:")
        body.append(ind + "        uni = False")
        body.append(ind + "if uni:")
        body.extend(ind + f"    c{r} = Lf[ph0, {r}]" for r in range(ncf))
        for ln in seg:
            if ln.strip() == "ph = lab[k0 + k]":
                continue
            body.append("    " + re.sub(r"Lf\[ph, (\d+)\]", r"c\1", ln))
        body.append(ind + "else:")
        body.extend("    " + ln for ln in seg)
    # scatter: node k of this chunk gets F_lo(k) + F_hi(k - 1); F_hi of the chunk's
    # last element is carried to the next chunk (and finally to node 0, periodic)
    for c in range(nc):
        for q, t_ in enumerate(srcs):
            r = c * nq + q
            ol, oh = fo(c, q, 0), fo(c, q, 1)
            body.append(ind + f"W[{oh}] = carry[{r}]")
            body.append(ind + f"row = out[{c}, {t_}][k0:k0 + nk]")
            body.append(ind + "for t in range(nk):")
            body.append(ind + f"    row[t] += W[{ol} + t] + W[{oh} + t]")
            body.append(ind + f"carry[{r}] = W[{oh} + nk]")
    ind = " " * 12
    for c in range(nc):
        for q, t_ in enumerate(srcs):
            body.append(ind + f"out[{c}, {t_}, 0] += carry[{c * nq + q}]")
    return "\n".join(head + ["    " + ln for ln in body]) + "\n    return out\n"


def _flat_lp(line: str, n: int) -> str:
    """``Lp[a, b]`` (the phase's law) -> ``Lf[ph, a * n + b]`` (a gather in the vector loop)."""
    return re.sub(r"Lp\[(\d+), (\d+)\]", lambda mt: f"Lf[ph, {int(mt[1]) * n + int(mt[2])}]", line)


def _post_kernel(d: int, nc: int, physics: str, law: str) -> str:
    """Voxel-mean gradient and flux (mode 0, Mandel for elasticity) and the exact energy."""
    el = _Element(d, nc)
    pnames, pload = _params(physics, law)
    name = f"post_{d}d_{physics}_{law}"
    if physics == "elasticity":
        pairs = (
            [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)] if d == 3 else [(0, 0), (1, 1), (0, 1)]
        )
    else:
        pairs = [(0, j) for j in range(d)]
    idx = "i, j, k" if d == 3 else "i, k"
    lines = [
        "@njit(parallel=True, fastmath=True, cache=True)",
        f"def {name}(u, labels, {pnames}, E, ih, grad_out, flux_out, energy):",
        f'    """Mean gradient/flux per voxel and element energies ({d}D {physics}, {law} law)."""',
        f"    NC = {nc}",
        *[f"    ih{j} = ih[{j}]" for j in range(d)],
        "    shape = labels.shape",
        "    nx, nz = shape[0], shape[-1]",
        "    for i in prange(nx):",
        "        i1 = (i + 1) % nx",
        f"        U = np.empty((NC, {2 ** (d - 1)}, nz + 1))",
        "        acc = 0.0",
    ]
    if d == 3:
        lines += [
            "        for j in range(shape[1]):",
            "            j1 = (j + 1) % shape[1]",
            "            for c in range(NC):",
            "                U[c, 0, :nz] = u[c, i, j]",
            "                U[c, 1, :nz] = u[c, i, j1]",
            "                U[c, 2, :nz] = u[c, i1, j]",
            "                U[c, 3, :nz] = u[c, i1, j1]",
            "                for q in range(4):",
            "                    U[c, q, nz] = U[c, q, 0]",
            "            lab = labels[i, j]",
        ]
    else:
        lines += [
            "        for _once in range(1):",
            "            for c in range(NC):",
            "                U[c, 0, :nz] = u[c, i]",
            "                U[c, 1, :nz] = u[c, i1]",
            "                for q in range(2):",
            "                    U[c, q, nz] = U[c, q, 0]",
            "            lab = labels[i]",
        ]
    inner = ["ph = lab[k]", *pload, *_node_loads(el), *_gradient_lines(el, True)]
    energy_terms = []
    for m in range(len(el.modes)):
        inner += _flux_lines(el, m, physics, law)
        for c in range(nc):
            for j in range(d):
                if j not in el.modes[m]:
                    energy_terms.append(f"({el.weights[m]!r})*g{m}_{c}_{j}*s{m}_{c}_{j}")
    inner.append("acc += " + " + ".join(energy_terms))
    for r, (a, b) in enumerate(pairs):
        if physics == "conduction":
            inner.append(f"grad_out[{r}, {idx}] = g0_0_{b}")
            inner.append(f"flux_out[{r}, {idx}] = s0_0_{b}")
        elif a == b:
            inner.append(f"grad_out[{r}, {idx}] = g0_{a}_{a}")
            inner.append(f"flux_out[{r}, {idx}] = s0_{a}_{a}")
        else:
            inner.append(f"grad_out[{r}, {idx}] = 0.7071067811865476*(g0_{a}_{b} + g0_{b}_{a})")
            inner.append(f"flux_out[{r}, {idx}] = 0.7071067811865476*(s0_{a}_{b} + s0_{b}_{a})")
    lines.append("            for k in range(nz):")
    lines += ["                " + line for line in inner]
    lines.append("        energy[i] = acc")
    return "\n".join(lines) + "\n"


def generate() -> str:
    chunks = [
        '"""Generated by tools/generate_kernels.py: do not edit by hand."""',
        "",
        "# ruff: noqa",
        "import numpy as np",
        "from numba import njit, prange",
        "",
    ]
    for d in (2, 3):
        for physics, nc in (("conduction", 1), ("elasticity", d)):
            for law in ("isotropic", "general"):
                chunks.append(_apply_kernel(d, nc, physics, law))
                chunks.append(_post_kernel(d, nc, physics, law))
    return "\n\n".join(chunks)


if __name__ == "__main__":
    TARGET.write_text(generate())
    print(f"wrote {TARGET}")
