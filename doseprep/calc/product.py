"""Contract steps 1–4: from the product's counts to its viable CD3+ cells. Shared by the fresh
plan and the freeze plan (F1–F4); the thaw plan uses steps 2–3 for its post-thaw counts."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pint

from doseprep.calc.model import Step
from doseprep.calc.quantities import exact_in, quantity
from doseprep.errors import InputError
from doseprep.protocol import LabSettings
from doseprep.request import MAX_VOLUME_ML, Product
from doseprep.units import (
    CELLS,
    CELLS_PER_ML,
    ML,
    Measured,
    exact,
    fmt_cells,
    fmt_concentration,
    fmt_percent,
    fmt_volume,
    ureg,
)


@dataclass(frozen=True)
class ProductCells:
    """The product's volume and cells, exactly (``*_x``) and as quantities."""

    vp_x: Fraction
    vp: pint.Quantity
    wbc_x: Fraction
    wbc: pint.Quantity
    c_x: Fraction
    c: pint.Quantity
    total: pint.Quantity


def product_volume(product: Product, lab: LabSettings) -> tuple[Fraction, Step]:
    """Step 1. Vp: the entered volume, or the net weight ÷ the lab's specific gravity (more than
    a bag holds is the net weight's input error)."""
    if product.volume is not None:
        vp_x = product.volume.magnitude
        return vp_x, Step("Product volume", "Vp = entered volume", f"Vp = {product.volume.text}",
                          fmt_volume(quantity(vp_x, ML)))
    assert product.net_weight is not None
    vp_x = product.net_weight.magnitude / exact_in(lab.specific_gravity, ureg.g / ureg.mL)
    vp = quantity(vp_x, ML)
    if vp_x > MAX_VOLUME_ML:
        raise InputError("product.net_weight",
                         f"The net weight {product.net_weight.text} makes {fmt_volume(vp)} "
                         f"at {lab.specific_gravity.magnitude:g} g/mL, more than the "
                         f"{MAX_VOLUME_ML:g} mL a product bag holds; check the weight.")
    return vp_x, Step("Product volume", "Vp = net weight ÷ specific gravity",
                      f"Vp = {product.net_weight.text} ÷ {lab.specific_gravity.magnitude:g} g/mL",
                      fmt_volume(vp))


def wbc_concentration(wbc: Measured, sample_dilution: float) -> tuple[Fraction, Step]:
    """Step 2. The product's WBC concentration: the analyzer's reading × its sample dilution."""
    wbc_x = wbc.magnitude * exact(sample_dilution)
    return wbc_x, Step("WBC concentration", "WBC = analyzer WBC × sample dilution",
                       f"WBC = {wbc.text} × {sample_dilution:g}",
                       fmt_concentration(quantity(wbc_x, CELLS_PER_ML), digits=4))


def viable_cd3_concentration(wbc_x: Fraction, cd3_percent: float,
                             viability_percent: float) -> tuple[Fraction, Step]:
    """Step 3. C = WBC × CD3% × viability% (dual platform)."""
    c_x = wbc_x * exact(cd3_percent) / 100 * exact(viability_percent) / 100
    return c_x, Step("Viable CD3+ concentration", "C = WBC × CD3% × viability%",
                     f"C = {fmt_concentration(quantity(wbc_x, CELLS_PER_ML), digits=4)} × "
                     f"{fmt_percent(cd3_percent)} × {fmt_percent(viability_percent)}",
                     fmt_concentration(quantity(c_x, CELLS_PER_ML), "viable CD3+ cells/mL",
                                       digits=4))


def total_viable_cd3(c_x: Fraction, vp_x: Fraction) -> tuple[Fraction, Step]:
    """Step 4. Ntotal = C × Vp."""
    total_x = c_x * vp_x
    return total_x, Step("Total viable CD3+ in product", "Ntotal = C × Vp",
                         f"Ntotal = {fmt_concentration(quantity(c_x, CELLS_PER_ML), digits=4)} × "
                         f"{fmt_volume(quantity(vp_x, ML))}",
                         fmt_cells(quantity(total_x, CELLS), "viable CD3+ cells", digits=4))


def product_cells(product: Product, lab: LabSettings) -> tuple[ProductCells, list[Step]]:
    """Steps 1–4 in order."""
    vp_x, step1 = product_volume(product, lab)
    wbc_x, step2 = wbc_concentration(product.wbc, product.sample_dilution)
    c_x, step3 = viable_cd3_concentration(wbc_x, product.cd3_percent, product.viability_percent)
    total_x, step4 = total_viable_cd3(c_x, vp_x)
    cells = ProductCells(vp_x=vp_x, vp=quantity(vp_x, ML), wbc_x=wbc_x,
                         wbc=quantity(wbc_x, CELLS_PER_ML), c_x=c_x,
                         c=quantity(c_x, CELLS_PER_ML), total=quantity(total_x, CELLS))
    return cells, [step1, step2, step3, step4]
