"""Job kinds accepted by the seed routes (seed 003 §3.2.1). Case-sensitive, as the seed says."""

CARRIER_KINDS = ("OI", "VIVO", "EMBRATEL", "DIGITALNET")
SAT_KIND = "SAT"
ALL_KINDS = (*CARRIER_KINDS, SAT_KIND)
