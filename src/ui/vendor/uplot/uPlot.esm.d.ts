// Types only: the page imports ./vendor/uplot/uPlot.esm.js, which routes/ui.ts serves from
// node_modules/uplot/dist; this gives that path the package's own types for the UI typecheck.
import uPlot from "uplot";
export default uPlot;
