// createRelation, appending the newly related record to the first record's relations
// connection (RelationEdge.node is the related record, so the appended node is secondRecord).
import { graphql } from 'relay-runtime';

export const mutation = graphql`
  mutation AddPetMutation($input: CreateRelationInput!, $connections: [ID!]!) {
    createRelation(input: $input) {
      id
      firstRecordId
      secondRecord @appendNode(connections: $connections, edgeTypeName: "RelationEdge") {
        id
        displayName
      }
    }
  }
`;
