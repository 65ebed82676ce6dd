//===- WeftOps.td - weft dialect ops -----------------------*- tablegen -*-===//

#ifndef WEFT_DIALECT_WEFT_IR_WEFTOPS_TD
#define WEFT_DIALECT_WEFT_IR_WEFTOPS_TD

include "weft/Dialect/Weft/IR/WeftBase.td"
include "weft/Dialect/Weft/IR/WeftGraphOps.td"
include "weft/Dialect/Weft/IR/WeftTransformerOps.td"

#endif // WEFT_DIALECT_WEFT_IR_WEFTOPS_TD
