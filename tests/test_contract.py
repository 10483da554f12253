"""The names DESIGN.md promises clients: renaming any of them must fail here, not in production."""

from __future__ import annotations

from graphql import GraphQLInterfaceType, GraphQLObjectType

from app.schema import schema

S = schema._schema


def fields(type_name: str) -> set[str]:
    t = S.get_type(type_name)
    assert isinstance(t, GraphQLObjectType | GraphQLInterfaceType), type_name
    return set(t.fields)


def args(type_name: str, field: str) -> set[str]:
    t = S.get_type(type_name)
    assert isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
    return set(t.fields[field].args)


RECORD_FIELDS = {
    "id",
    "objectKey",
    "displayName",
    "properties",
    "createdAt",
    "updatedAt",
    "relations",
}


def test_types_and_interfaces():
    assert fields("Node") == {"id"}
    assert RECORD_FIELDS <= fields("Record")
    for name in ("Contact", "Company", "Opportunity", "CustomObjectRecord"):
        t = S.get_type(name)
        assert {i.name for i in t.interfaces} == {"Record", "Node"}, name
        assert RECORD_FIELDS <= fields(name)
    assert {"firstName", "lastName", "email", "phone"} <= fields("Contact")
    assert "name" in fields("Company")
    assert {"name", "status", "monetaryValue"} <= fields("Opportunity")
    for name in ("ObjectSchema", "Association", "Relation"):
        assert "Node" in {i.name for i in S.get_type(name).interfaces}
    assert {"key", "labels", "description", "primaryDisplayProperty"} <= fields("ObjectSchema")
    assert fields("ObjectLabels") >= {"singular", "plural"}


def test_association_and_relation_fields():
    assert {
        "key",
        "firstObjectKey",
        "secondObjectKey",
        "firstObjectLabel",
        "secondObjectLabel",
        "associationType",
        "firstToSecondLimit",
        "secondToFirstLimit",
        "description",
        "cardinality",
        "relationCount",
        "createdAt",
    } <= fields("Association")
    assert {"id", "association", "firstRecord", "secondRecord", "createdAt"} <= fields("Relation")
    assert set(S.get_type("AssociationCardinality").values) == {
        "MANY_TO_MANY",
        "ONE_TO_MANY",
        "MANY_TO_ONE",
        "ONE_TO_ONE",
    }
    assert set(S.get_type("AssociationType").values) == {"USER_DEFINED", "SYSTEM_DEFINED"}


def test_traversal_connection():
    assert args("Record", "relations") == {
        "associationId",
        "associationKey",
        "objectKey",
        "first",
        "after",
        "last",
        "before",
    }
    first = S.get_type("Record").fields["relations"].args["first"]
    assert str(first.type) == "Int" and first.default_value == 50
    assert {"edges", "pageInfo", "totalCount"} <= fields("RelationConnection")
    assert {"cursor", "node", "relation", "association", "label"} <= fields("RelationEdge")


def test_queries():
    assert {
        "viewer",
        "node",
        "objectSchemas",
        "objectSchema",
        "record",
        "records",
        "associations",
        "association",
        "associationByKey",
    } <= fields("Query")
    assert {"location", "role", "scopes"} <= fields("Viewer")
    assert {"objectKey", "first", "after", "query", "relatedTo", "last", "before"} <= args(
        "Query", "records"
    )
    assert set(S.get_type("RelatedToInput").fields) == {"recordId", "associationId"}
    assert args("Query", "objectSchema") == {"key"}
    assert args("Query", "associations") == {"objectKey"}
    assert args("Query", "associationByKey") == {"key"}


def test_mutations_take_one_input_named_after_them():
    mutation = S.get_type("Mutation")
    for name in (
        "createObjectSchema",
        "createRecord",
        "updateRecord",
        "createAssociation",
        "updateAssociation",
        "createRelation",
    ):
        field = mutation.fields[name]
        assert set(field.args) == {"input"}, name
        assert str(field.args["input"].type) == name[0].upper() + name[1:] + "Input!", name
    assert str(mutation.fields["createRelations"].args["input"].type) == "[CreateRelationInput!]!"
    assert set(mutation.fields["deleteRecord"].args) == {"id"}
    assert set(mutation.fields["deleteRelation"].args) == {"id"}
    assert set(mutation.fields["deleteRelations"].args) == {"ids"}
    delete_association = mutation.fields["deleteAssociation"]
    assert set(delete_association.args) == {"id", "cascade"}
    assert delete_association.args["cascade"].default_value is False


def test_input_fields():
    def inputs(name: str) -> set[str]:
        return set(S.get_type(name).fields)

    assert inputs("CreateObjectSchemaInput") >= {
        "key",
        "labels",
        "description",
        "primaryDisplayProperty",
    }
    assert inputs("CreateRecordInput") >= {"objectKey", "properties"}
    assert inputs("UpdateRecordInput") >= {"id", "properties"}
    assert inputs("CreateAssociationInput") >= {
        "key",
        "firstObjectKey",
        "secondObjectKey",
        "firstObjectLabel",
        "secondObjectLabel",
        "cardinality",
        "firstToSecondLimit",
        "secondToFirstLimit",
        "description",
    }
    assert inputs("UpdateAssociationInput") == {
        "id",
        "firstObjectLabel",
        "secondObjectLabel",
        "description",
    }
    assert inputs("CreateRelationInput") == {"associationId", "firstRecordId", "secondRecordId"}
