"""The embedded dataset: pedestrian-like figures walking over a textured scene, with exact ground truth.

Why synthetic: the default pipeline must run anywhere (no download, no GPU) and still exercise what
MOT17 exercises: people entering and leaving the frame, occluding each other, changing scale with
depth, boxes past the image edge, and the ignore classes and zero-marked rows that the MOT17
evaluation filters. Each identity keeps one distinctive look (shirt, trousers, pattern, hair) so
the re-ID head has something to learn.

Geometry: a ground plane seen from above eye level. A figure's feet (box bottom) set its depth:
the lower in the image, the nearer and the taller. Figures are drawn far to near, and the
visibility column is the fraction of the box that is inside the image and not covered by the
silhouette of a nearer figure. Everything comes from one seeded numpy Generator per sequence and
OpenCV's deterministic drawing and JPEG encoder, so a rerun is byte-identical.

Presets: `default` is the quick set above (about 8 people in view, each in its own colours).
`crowd` is a set on which trackers differ: about 35 people in view, most boxes partly hidden,
walkers drifting in depth so their paths cross, clothes from a palette of six shared outfits (so
appearance alone cannot tell identities apart) and a slightly shaking camera. The crowd-only
randomness comes from a second generator, so the default's stream and files stay unchanged.
`street` adds cyclists (gt class 4) and cars (gt class 3) in lanes across the scene, each vehicle
its own identity and look, drawn in depth order with the walkers; the traffic comes from a
generator of its own (street.py), so the other presets stay unchanged.

Camera (`camera`): the preset's own (default static, crowd shaking), or `static`, `shake`, `pan`: a
window of the world that pans and zooms smoothly, the ground truth mapped with the image.

Modules: figures (Scene, Look, Figure), appearance (colours, background, looks), motion
(population and steps), drawing (people and visibility), presets (Preset, the crowd's outfits and
camera shake), street (Traffic: the street's cars and cyclists), camera (Camera, View: what the
camera sees of the world each frame), sequence
(generate_synthetic: the files of each sequence).
"""

from fairmot.data.synthetic.appearance import HAIR, SKIN, _background, _random_look
from fairmot.data.synthetic.drawing import _draw_figure, _draw_person, _Painter, _visibility
from fairmot.data.synthetic.figures import BGR, Figure, Look, Scene
from fairmot.data.synthetic.motion import IGNORE_KINDS
from fairmot.data.synthetic.presets import CROWD_OUTFITS, PRESETS, Preset, _camera_shift, _palette_look, _shifted
from fairmot.data.synthetic.sequence import JPEG_QUALITY, MIN_IN_IMAGE, generate_synthetic

__all__ = [
    "BGR", "CROWD_OUTFITS", "HAIR", "IGNORE_KINDS", "JPEG_QUALITY", "MIN_IN_IMAGE", "PRESETS", "SKIN", "Figure", "Look",
    "Preset", "Scene", "_Painter", "_background", "_camera_shift", "_draw_figure", "_draw_person", "_palette_look",
    "_random_look", "_shifted", "_visibility", "generate_synthetic",
]
