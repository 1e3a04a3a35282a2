"""2.4 on its own: the graph builder, the printed chain rule, which steps are shown, a wrong sweep refused by proof."""
import pytest
import sympy as sp

import derive.reparam as rp
from derive.graph import Graph

pytestmark = [pytest.mark.mutation_variational]


@pytest.fixture(scope="module")
def der():
    return rp.derive_reparam()


def _sweep_steps(der):
    return [step for sec in der.sections if sec.title == "Backward sweep" for step in sec.steps]


def test_the_graph_builder_returns_symbols_and_names_their_latex():
    a, b = sp.symbols("a b", real=True)
    g = Graph()
    assert g.input("a", a) is a and g.input("b", b, r"\beta") is b
    assert g.op("u", sp.Symbol("u"), a * b) == sp.Symbol("u")
    assert g.nodes["a"].latex == "a" and g.nodes["b"].latex == r"\beta" and g.nodes["u"].latex == "u"
    assert g.nodes["u"].parents == ("a", "b") and g.children("a") == ["u"] and g.nodes["a"].expr is None
    assert g.values()[sp.Symbol("u")] == a * b


def test_the_symbols_carry_their_assumptions(der):
    g = rp.build_graph()
    assert g.nodes["mu"].symbol.is_real and g.nodes["sigma"].symbol.is_positive
    assert g.nodes["eps"].symbol.is_real
    assert all(g.nodes[n].symbol.is_real for n in ("z", "r", "s", "t"))
    assert der.givens[1].rhs.has(sp.log(g.nodes["sigma"].symbol)) and not der.givens[1].rhs.has(sp.Abs)


def test_the_givens_are_equations_2_and_the_start_of_the_sweep(der):
    g = rp.build_graph()
    assert [str(given.lhs) for given in der.givens[:4]] == ["z", "r", "s", "t"]
    assert [given.rhs for given in der.givens[:4]] == [g.nodes[n].expr for n in ("z", "r", "s", "t")]
    assert der.givens[4].rhs == 1


def test_the_chain_rule_is_printed_adjoint_times_partial_for_each_child(der):
    steps = _sweep_steps(der)
    chain_steps = [s for s in steps if s.justification.startswith("chain rule")]
    assert len(chain_steps) == 6
    for step in chain_steps:
        terms = sp.Add.make_args(step.rhs)
        for term in terms:
            factors = sp.Mul.make_args(term)
            assert len(factors) == 2 and isinstance(factors[1], sp.Derivative)
    z_step = next(s for s in chain_steps if "z feeds" in s.justification)
    assert z_step.justification == "chain rule: z feeds r and s, so its adjoint collects one term from each path"
    assert len(sp.Add.make_args(z_step.rhs)) == 2
    s_step = next(s for s in chain_steps if "s feeds" in s.justification)
    assert s_step.justification == "chain rule: s feeds t only" and len(sp.Add.make_args(s_step.rhs)) == 1


def test_each_adjoint_is_shown_as_chain_rule_partials_and_values_where_they_differ(der):
    steps = _sweep_steps(der)
    per_node = []
    for step in steps:
        if step.justification.startswith("chain rule"):
            per_node.append([step])
        else:
            per_node[-1].append(step)
    # s and r: the partials are already numbers; z, eps, sigma, mu: the forward values go in
    assert [len(group) for group in per_node] == [2, 2, 3, 3, 3, 3]
    for group in per_node:
        assert [s.continues for s in group] == [False] + [True] * (len(group) - 1)
    local = [s for s in steps if s.justification.startswith("local partial")]
    # z's local partials are shown one term per child (r and s), not merged into z + mu/sigma^2 - z/sigma^2
    assert isinstance(local[2].rhs, sp.Add) and len(local[2].rhs.args) == 2


def test_a_wrong_local_partial_is_refused_by_proof_alone(monkeypatch):
    real = Graph.local_partial

    def doubled(self, child, parent):
        d = real(self, child, parent)
        return 2 * d if (child, parent) == ("r", "z") else d

    monkeypatch.setattr(Graph, "local_partial", doubled)
    der = rp.derive_reparam()
    bad = [s for s in der.steps if not s.verified]
    assert bad, "a wrong sweep must not verify"
    for step in bad:
        assert step.verification.residual is None
        assert step.verification.detail.endswith("did not reduce to 0") or "differs" in step.verification.detail \
            or step.verification.method == "unverified", step.verification.detail
    grads = [s for s in der.steps if s.justification.startswith(("μ̄ from the sweep", "σ̄ from the sweep"))]
    assert grads and all(not s.verified and s.verification.detail.endswith("did not reduce to 0") for s in grads)


def test_the_chain_rule_steps_are_proved_or_unverified_never_numeric(monkeypatch):
    """Each chain-rule step is checked against ∂t/∂node differentiated directly; a step simplify cannot
    prove is unverified, never passed at random points."""
    import derive.verify as verify

    monkeypatch.setattr(verify, "_symbolic_zero", lambda diff, seconds, sides: False)
    steps = [s for s in rp.derive_reparam().steps if s.verification is not None
             and s.verification.detail.startswith("with each child's")]
    assert len(steps) >= 3
    assert all(not s.verification.passed and s.verification.method == "unverified" for s in steps)
