"""Sentences about the numbers, for people: what a neuron's output means, how sure a prediction is.

The same numbers mean different things under different activations: a relu neuron at 0 is silent
and passes nothing on, but a tanh neuron at -0.57 is far from silent - it pushes every unit above
it against the sign of its weight. These sentences follow the activation and the numbers they
describe, so the page, the report and a notebook say the same thing.

    neuron_state("tanh", z=-0.64, a=-0.565)   # "negative: tanh squashes z = -0.640 to -0.565, ..."
    confidence(probs, ["0", ..., "9"])        # "not sure: its best guess is 4, then 9 (30.1%)"

Left out: any arithmetic. The numbers come from path.py and neurons.py; this only words them.
"""

NEAR_ZERO = 0.05          # a tanh output this close to 0 hardly moves the layer above
SATURATED = 0.95          # |tanh| or sigmoid beyond this: changing z barely changes the output
SURE, FAIRLY_SURE = 0.9, 0.6


def number(value, digits=3):
    """-0.565 -> "-0.565", with a real minus sign so it reads as a number in any font."""
    return f"{value:.{digits}f}".replace("-", "\u2212")


def neuron_state(activation, z, a, blank=False, first=True, bias=0.0):
    """One or two sentences: what a neuron with weighted sum z and output a = activation(z) does.

    blank: the image is empty, so z comes from biases alone (the neuron's own for the first layer,
    `first`; those of the neurons below too for a deeper one).
    """
    if activation == "relu":
        text = (f"It fires: z = {number(z)} is positive, so relu passes it on unchanged."
                if a > 0 else
                f"It is silent: z = {number(z)} is not positive, so relu outputs 0 and it passes nothing on.")
    elif activation == "tanh":
        if abs(a) < NEAR_ZERO:
            text = (f"It is close to 0: tanh(z = {number(z)}) = {number(a)}, so it hardly moves the layer "
                    "above.")
        else:
            sign = "positive" if a > 0 else "negative"
            effect = ("along the sign of its weights" if a > 0 else "against the sign of its weights")
            text = (f"It is {sign}: tanh squashes z = {number(z)} to {number(a)} (between \u22121 and +1), "
                    f"so it pushes each unit above {effect}.")
            if abs(a) > SATURATED:
                text += " It is saturated: more ink in the same direction would barely change it."
    elif activation == "sigmoid":
        level = "nearly off" if a < 0.1 else "nearly fully on" if a > 0.9 else f"{a:.0%} on"
        text = (f"It is {level}: sigmoid squashes z = {number(z)} to {number(a)}, between 0 (off) and 1 "
                "(fully on); it never pushes the layer above with a negative sign.")
    elif activation == "linear":
        text = f"It passes z on unchanged (no activation): {number(a)}."
    else:
        text = f"{activation}(z = {number(z)}) = {number(a)}."
    if blank:
        where = (f"z is just its bias ({number(bias)})" if first else
                 "z comes from biases alone (its own and those of the neurons below)")
        text = f"The image is blank: every pixel is 0, so {where}. " + text
    return text


def confidence(probs, names):
    """How sure the prediction is, in words to put under its probability:
    "sure it is 7" (90% or more), "fairly sure it is 7" (60% or more), or below that
    "not sure: its best guess is 4, then 9 (30.1%)".

    probs: the output probabilities; names: the class names.
    """
    order = sorted(range(len(probs)), key=lambda k: -probs[k])
    best = order[0]
    p = probs[best]
    if p >= SURE:
        return f"sure it is {names[best]}"
    if p >= FAIRLY_SURE:
        return f"fairly sure it is {names[best]}"
    if len(order) < 2:
        return f"not sure: its best guess is {names[best]}"
    second = order[1]
    return f"not sure: its best guess is {names[best]}, then {names[second]} ({probs[second]:.1%})"
