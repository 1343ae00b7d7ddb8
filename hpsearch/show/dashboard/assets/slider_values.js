// Tooltip transforms of the dashboard's sliders (dcc.Slider tooltip.transform names a function here).
window.dccFunctions = window.dccFunctions || {};
// A log-scale slider moves in log10: its tooltip shows the value itself, to 3 significant digits.
window.dccFunctions.hpsearchPow10 = function (exponent) {
  return Number(Math.pow(10, exponent).toPrecision(3));
};
