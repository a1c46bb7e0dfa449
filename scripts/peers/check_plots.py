#!/usr/bin/env python3
"""PIL opens Tailor's loss.png / chart PNGs, and xml.etree parses the SVGs.

    TAILOR_KEEP_OUTPUT=/tmp/tailor-sinks swift test --filter "LossPlotSinkTests|LineChartTests"
    python3 scripts/peers/check_plots.py /tmp/tailor-sinks/plots/loss /tmp/tailor-sinks/chart

Each argument is a path without extension: PATH.png and PATH.svg.
"""
import json
import sys
import xml.etree.ElementTree as ET

from PIL import Image

SVG = "{http://www.w3.org/2000/svg}"


def close(a, b, tolerance=48):
    """Anti-aliased edge pixels are a mix of the line color and the background."""
    return sum(abs(x - y) for x, y in zip(a, b)) <= tolerance

for base in sys.argv[1:]:
    image = Image.open(base + ".png")
    image.load()  # decodes every IDAT byte, checking zlib and CRCs
    assert image.format == "PNG" and image.mode == "RGB", (image.format, image.mode)
    width, height = image.size
    colors = {color: n for n, color in image.getcolors(maxcolors=width * height)}
    assert image.getpixel((0, 0)) == (255, 255, 255), "white background"
    blue, orange = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)
    assert colors.get(blue, 0) > 100, "train loss line (tab:blue) drawn"
    assert (0, 0, 0) in colors, "black frame and text"

    root = ET.parse(base + ".svg").getroot()
    assert root.tag == SVG + "svg" and root.get("width") == str(width) and root.get("height") == str(height)
    series = {g.get("data-name"): g for g in root.iter(SVG + "g") if g.get("class") == "series"}
    points = {name: sum(len(p.get("points").split()) for p in g.iter(SVG + "polyline")) for name, g in series.items()}
    texts = [t.text for t in root.iter(SVG + "text")]
    # The PNG has the SVG's polyline vertices in the series color (the line passes through each vertex;
    # at the frame the blue is a pixel away, hence the 3x3 neighbourhood; an eval marker may cover it).
    train = series.get("train loss")
    hits = total = 0
    if train is not None:
        for polyline in train.iter(SVG + "polyline"):
            for pair in polyline.get("points").split():
                x, y = (float(v) for v in pair.split(","))
                total += 1
                near = [(int(x) + dx, int(y) + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
                hits += any(close(image.getpixel(p), blue) or image.getpixel(p) == orange
                            for p in near if 0 <= p[0] < width and 0 <= p[1] < height)
    assert total == 0 or hits == total, f"{hits}/{total} train vertices blue in the PNG"
    print(json.dumps({"png": base + ".png", "size": [width, height], "mode": image.mode,
                      "blue_pixels": colors.get(blue, 0), "orange_pixels": colors.get(orange, 0),
                      "svg_series_points": points, "svg_texts": texts[:4] + ["..."],
                      "train_vertices_blue_in_png": f"{hits}/{total}"}))
