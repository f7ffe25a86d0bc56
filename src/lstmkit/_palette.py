"""The colours lstmkit's figures draw with: the Okabe-Ito palette (Okabe & Ito 2008, "Color
Universal Design"), told apart in every common colour-vision deficiency. Every figure also gives
each series its own line style and marker, so that it reads in greyscale and without colour at
all; this module only names the colours (no matplotlib import). Contrast on white (WCAG; 3:1 is
its minimum for graphics): BLUE 5.2, VERMILLION 3.9, GREEN 3.4, PURPLE 3.1, GREY 4.5; ORANGE 2.3
and SKY_BLUE 2.3 are below it, for fills, not lines."""

BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"  # (Okabe-Ito's "bluish green")
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"  # (Okabe-Ito's "reddish purple")
GREY = "#767676"  # not Okabe-Ito's: the lightest grey with 4.5:1 contrast on white, for a baseline drawn behind
