import { h } from "./dom.js";

/**
 * The network as a row of boxes: inputs, then each layer's units and activation.
 * @param {{ inputs: number, layers: { units: number, activation: string }[] }} network
 */
export function layerDiagram(network) {
  const description = [
    `${network.inputs} inputs`,
    ...network.layers.map((l) => `${l.units} ${l.activation}`),
  ].join(", then ");
  return h(
    "ol",
    { class: "layers", "aria-label": `Network: ${description}` },
    h("li", { class: "input" }, h("span", { class: "units" }, network.inputs), h("br"), "inputs"),
    network.layers.map((layer, i) =>
      h(
        "li",
        { title: i === network.layers.length - 1 ? "output layer" : `hidden layer ${i + 1}` },
        h("span", { class: "units" }, layer.units),
        h("br"),
        layer.activation,
      ),
    ),
  );
}
