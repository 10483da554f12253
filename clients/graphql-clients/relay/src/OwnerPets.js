// A record's related records as a Relay connection (@connection on Record.relations), in a
// fragment Relay can refetch by id (@refetchable: Record implements Node, Query.node(id:)).
// Compiled by tests at run time; never executed as JavaScript.
import { graphql } from 'relay-runtime';

export const query = graphql`
  query OwnerPetsQuery($id: ID!, $first: Int!) {
    record(id: $id) {
      ...OwnerPets_record @arguments(first: $first)
    }
  }
`;

export const fragment = graphql`
  fragment OwnerPets_record on Record
  @refetchable(queryName: "OwnerPetsPaginationQuery")
  @argumentDefinitions(first: { type: "Int", defaultValue: 2 }, after: { type: "String" }) {
    id
    displayName
    relations(first: $first, after: $after) @connection(key: "OwnerPets_relations") {
      __id
      totalCount
      edges {
        label
        relation {
          id
        }
        node {
          id
          displayName
        }
      }
    }
  }
`;
