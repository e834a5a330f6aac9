"""mediation_flow: case management for grassroots dispute mediation (矛盾纠纷调解)."""

__version__ = "0.1.0"
