// Query.records as a Relay connection, keyed by its object.
import { graphql } from 'relay-runtime';

export const query = graphql`
  query PetListQuery($objectKey: String!, $first: Int!, $after: String) {
    records(objectKey: $objectKey, first: $first, after: $after)
      @connection(key: "PetList_records", filters: ["objectKey"]) {
      totalCount
      edges {
        node {
          id
          displayName
        }
      }
    }
  }
`;
