"""The slider explorer builds, and its static fallback draws the same plots as a Figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from galzoo_tools import widgets


def test_static_fallback_returns_grid_figure() -> None:
    fig = widgets.explore_dirichlet(static=True)
    assert isinstance(fig, Figure)
    settings = widgets.dirichlet_settings(3)
    assert len(fig.axes) == 2 * len(settings)
    plt.close(fig)


def test_auto_detect_outside_a_kernel_is_static() -> None:
    assert not widgets.interactive_available()
    fig = widgets.explore_dirichlet("disk-edge-on-dr5")
    assert isinstance(fig, Figure)
    plt.close(fig)


def test_widget_builds_with_one_slider_per_answer() -> None:
    ipywidgets = pytest.importorskip("ipywidgets")
    box = widgets.explore_dirichlet("bar-dr5", static=False, initial=[1.0, 2.0, 3.0])
    assert isinstance(box, ipywidgets.VBox)
    sliders = [c for c in box.children if isinstance(c, ipywidgets.FloatLogSlider)]
    assert [s.value for s in sliders] == pytest.approx([1.0, 2.0, 3.0])
    sliders[0].value = 10.0
    plt.close("all")


def test_grid_checks_setting_lengths() -> None:
    with pytest.raises(ValueError, match="answers"):
        widgets.plot_dirichlet_grid("disk-edge-on-dr5", settings=[[1.0, 2.0, 3.0]])
    fig = widgets.plot_dirichlet_grid("bulge-size-dr5", settings={"lean": [1, 2, 3, 2, 1]}, n_votes=(5,))
    assert len(fig.axes) == 1
    plt.close(fig)
