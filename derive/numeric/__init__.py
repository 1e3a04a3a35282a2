"""The numeric layer: lambdified results and the independent numpy references."""
